"""C16: the HELLO example, and what an arithmetic coder makes of its fuzziness."""

from __future__ import annotations

import math
from fractions import Fraction

import jax.numpy as jnp
import numpy as np

from bottlenet import net as netlib
from bottlenet import tasks
from bottlenet.compress.quantiser import TOTAL, quantise
from bottlenet.draw.claims import word_probability_chart
from bottlenet.experiments.base import Measured
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.verdicts import Decision, c16_verdict
from bottlenet.spec import NetSpec
from bottlenet.stats import wilson_interval

END = "end"


def hello_task() -> tasks.Task:
    pairs = [("H", "E"), ("E", "L"), ("L", "L"), ("L", "O"), ("O", END)]
    return tasks.from_pairs("hello", pairs)


def next_distributions(spec, task, params) -> dict[str, np.ndarray]:
    probs = netlib.probabilities(spec, netlib.forward(spec, params, jnp.arange(task.n_in)))
    return {task.in_name(i): np.asarray(probs[i], float) for i in range(task.n_in)}


def frequencies(p: np.ndarray) -> list[int]:
    """Integer frequencies summing to TOTAL, none zero, by the compressor's quantiser
    (the one place where model probabilities become integers), so encoder and decoder
    see the same numbers."""
    freq = np.zeros(len(p), np.int64)
    quantise(np.ascontiguousarray(p, np.float64), freq)
    return freq.tolist()


def encode(word: str, dists, names) -> tuple[str, Fraction]:
    """Exact arithmetic coding of the letters after the first, then END."""
    low, width = Fraction(0), Fraction(1)
    for prev, sym in zip(word, list(word[1:]) + [END], strict=True):
        f = frequencies(dists[prev])
        j = names.index(sym)
        low += width * Fraction(sum(f[:j]), TOTAL)
        width *= Fraction(f[j], TOTAL)
    bits = 1
    while True:  # the shortest binary fraction inside [low, low + width)
        scale = 1 << bits
        code = math.ceil(low * scale)
        if Fraction(code + 1, scale) <= low + width:
            return format(code, f"0{bits}b"), width
        bits += 1


def decode(bits: str, first: str, dists, names) -> str:
    value = Fraction(int(bits, 2), 1 << len(bits))
    low, width, out, prev = Fraction(0), Fraction(1), first, first
    for _ in range(64):
        f = frequencies(dists[prev])
        target = (value - low) / width * TOTAL
        j = max(i for i in range(len(f)) if sum(f[:i]) <= target)
        low += width * Fraction(sum(f[:j]), TOTAL)
        width *= Fraction(f[j], TOTAL)
        if names[j] == END:
            return out
        out += names[j]
        prev = names[j]
    raise ValueError("no end symbol")


def sequence_probability(word: str, dists, names) -> float:
    p = 1.0
    for prev, sym in zip(word, list(word[1:]) + [END], strict=True):
        p *= dists[prev][names.index(sym)]
    return p


WORDS = ("HELO", "HELLO", "HELLLO")
SAMPLES = 20000


class C16Numbers(Measured):
    probabilities: dict[str, float]  # word -> probability of generating it, computed
    sampled: dict[str, float]  # word -> share of SAMPLES generated words
    sampled_counts: dict[str, int]
    samples: int  # words generated
    code: str  # HELLO's arithmetic code after the H, as bits
    code_bits: int
    code_width_bits: float  # -log2 of the code's interval
    ideal_bits: float  # -log2 P(HELLO)
    decoded: str
    next_symbol: dict[str, list[float]]  # letter -> the network's next-letter distribution
    names: list[str]  # the outputs, in order


def c16_measure(ctx: Context) -> C16Numbers:
    """From the lowest-loss network on HELLO's pairs: each word's probability of being
    generated (computed, and sampled), and HELLO's arithmetic code and its decoding."""
    task = hello_task()
    spec = NetSpec(task.n_in, task.n_out, (2,))
    pop = ctx.train(task, spec, stop="never")
    dists = next_distributions(spec, task, pop.network(int(np.argmin(pop.final_loss))))
    names = list(task.out_names or ())
    exact = {w: sequence_probability(w, dists, names) for w in WORDS}
    rng = np.random.default_rng(ctx.seed)
    counts = dict.fromkeys(WORDS, 0)
    for _ in range(SAMPLES):
        word, prev = "H", "H"
        while len(word) < 30:
            sym = names[rng.choice(len(names), p=dists[prev] / dists[prev].sum())]
            if sym == END:
                break
            word += sym
            prev = sym
        if word in counts:
            counts[word] += 1
    code, width = encode("HELLO", dists, names)
    return {"regime": {"k": 2, "optimizer": "adam", "steps": ctx.budget.steps,
                       "seeds": ctx.budget.seeds, "network": "the one with the lowest loss"},
            "probabilities": exact, "sampled": {w: counts[w] / SAMPLES for w in WORDS},
            "sampled_counts": counts, "samples": SAMPLES, "code": code,
            "code_bits": len(code), "code_width_bits": -math.log2(float(width)),
            "ideal_bits": -math.log2(exact["HELLO"]), "decoded": decode(code, "H", dists, names),
            "next_symbol": {k: v.tolist() for k, v in dists.items()}, "names": names}


def c16_judge(m: C16Numbers) -> Decision:
    exact, counts = m["probabilities"], m["sampled_counts"]
    n = m["samples"]
    agree = all(wilson_interval(counts[w], n)[0] - 0.01 <= exact[w] <=
                wilson_interval(counts[w], n)[1] + 0.01 for w in WORDS)
    lossless = m["decoded"] == "HELLO" and m["code_bits"] <= m["code_width_bits"] + 2
    falling = exact["HELLO"] > exact["HELO"] and exact["HELLO"] > exact["HELLLO"]
    return c16_verdict(lossless, agree, falling)


def c16_describe(m: C16Numbers) -> str:
    exact = m["probabilities"]
    return "; ".join(f"P({w}) = {exact[w]:.3f} computed, {m['sampled'][w]:.3f} sampled"
                     for w in WORDS) + \
        f"; arithmetic code for HELLO after H: {m['code_bits']} bits ('{m['code']}'), ideal " \
        f"{m['ideal_bits']:.2f} bits, decodes to {m['decoded']}"


def c16_draw(m: C16Numbers) -> list[Picture]:
    return [("Probability of generating each word: computed and sampled.",
             word_probability_chart(m["probabilities"], m["sampled"], m["samples"]))]


C16 = Claim("C16", c16_measure, c16_judge, c16_describe, c16_draw)
