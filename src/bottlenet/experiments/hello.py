"""C16: the HELLO example, and what an arithmetic coder makes of its fuzziness."""

from __future__ import annotations

import math
from fractions import Fraction

import jax.numpy as jnp
import numpy as np

from bottlenet import net as netlib
from bottlenet import tasks
from bottlenet.compress.coder import TOTAL, quantise
from bottlenet.experiments.base import (
    ClaimResult,
    png,
)
from bottlenet.experiments.verdicts import c16_verdict
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


def c16_hello(ctx) -> ClaimResult:
    task = hello_task()
    spec = NetSpec(task.n_in, task.n_out, (2,))
    pop = ctx.train(task, spec, stop="never")
    params = pop.network(int(np.argmin(pop.final_loss)))
    dists = next_distributions(spec, task, params)
    names = list(task.out_names)
    words = ["HELO", "HELLO", "HELLLO"]
    exact = {w: sequence_probability(w, dists, names) for w in words}
    rng = np.random.default_rng(ctx.seed)
    samples = 20000
    counts = dict.fromkeys(words, 0)
    for _ in range(samples):
        word, prev = "H", "H"
        while len(word) < 30:
            sym = names[rng.choice(len(names), p=dists[prev] / dists[prev].sum())]
            if sym == END:
                break
            word += sym
            prev = sym
        if word in counts:
            counts[word] += 1
    agree = all(wilson_interval(counts[w], samples)[0] - 0.01 <= exact[w] <=
                wilson_interval(counts[w], samples)[1] + 0.01 for w in words)
    code, width = encode("HELLO", dists, names)
    back = decode(code, "H", dists, names)
    ideal = -math.log2(exact["HELLO"])
    lossless = back == "HELLO" and len(code) <= -math.log2(float(width)) + 2
    falling = exact["HELLO"] > exact["HELO"] and exact["HELLO"] > exact["HELLLO"]
    decision = c16_verdict(lossless, agree, falling)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    x = np.arange(len(words))
    ax.bar(x - 0.2, [exact[w] for w in words], 0.4, label="computed from the network")
    ax.bar(x + 0.2, [counts[w] / samples for w in words], 0.4, label=f"{samples} samples")
    ax.set_xticks(x, words)
    ax.set_ylabel("probability of generating the word")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return ClaimResult(
        "C16", "HELLO: fuzzy predictions, but no fuzzy compression",
        "your network will either output \"HELLO\" or \"HELO\" or \"HELLLO\" or any other "
        "multiple of Ls. (though they get less likely the further you are from the truth) ... "
        "fuzziness is not something you want in text compression",
        "A network that must learn that L is followed by L or O generates HELLO, HELO and "
        "HELLLO with probabilities that fall the further they are from HELLO; an arithmetic "
        "coder turns this fuzziness into a cost in bits, never into wrong output.",
        "HELLO, HELO, HELLLO; fuzziness unfit for compression",
        "; ".join(f"P({w}) = {exact[w]:.3f} computed, {counts[w] / samples:.3f} sampled"
                  for w in words) + f"; arithmetic code for HELLO after H: {len(code)} bits "
        f"('{code}'), ideal {ideal:.2f} bits, decodes to {back}",
        decision.verdict, decision.rule,
        {"k": 2, "optimizer": "adam", "steps": ctx.budget.steps, "seeds": ctx.budget.seeds,
         "network": "the one with the lowest loss"},
        {"probabilities": exact, "sampled": {w: counts[w] / samples for w in words},
         "code_bits": len(code), "ideal_bits": ideal, "decoded": back,
         "next_symbol": {k: v.tolist() for k, v in dists.items()}, "names": names},
        [("Probability of generating each word: computed and sampled.", png(fig))],
        notes="A next-letter network sees only the previous letter, so after L it can only "
        "say 'L or O, half and half': HELO (one L decision) is then more likely than HELLO "
        "(two). The fuzziness costs bits (about one per ambiguous L), and the decoder "
        "recovers HELLO exactly.",
        deciding=decision.deciding)
