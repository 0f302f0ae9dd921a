"""One playground run: a population trained live, looked at between steps, and edited by
hand. The training is the trainer's own (trainer.Live): the same seeds give the same
initial weights and the same steps as `bottlenet train --stop never`.

Every method is plain and synchronous; the web app (app.py) calls them from a worker
thread, one at a time."""

from __future__ import annotations

import base64
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import activations, modelfile
from bottlenet import net as netlib
from bottlenet.capacity import bucket
from bottlenet.config import TrainConfig
from bottlenet.evaluation import consecutive_inputs, evaluate, task_arrays
from bottlenet.population import Population
from bottlenet.serve.settings import STEPS_MAX, Settings, SettingsError
from bottlenet.trainer import Live, release_live_programs
from bottlenet.trainer.live import ProgramCache
from bottlenet.trainer.run import unpad_params

EDIT_LIMIT = 1000  # edits kept for the link; more make the link too long to share
ANIMATION_FRAMES = 120  # frames kept for "animation.html"; past it, every other is dropped
REPLAY_CHUNK_S = 0.2  # a replay trains in chunks of about this long, checking for a close


class Cancelled(Exception):
    """The tab closed while its run was being built (a link's replay stopped)."""
PICTURES = {"diagram.svg", "diagram.png", "space.svg", "space.png"}


def _look(spec, input_range, params, data, net):
    """Outcome of every network, and network `net`'s weights, hidden codes for every
    input and head outputs (rows: inputs 0..n_in-1), at the compiled (padded) size:
    padded outputs get nothing, and the caller slices back to the task's size."""
    ev = jax.vmap(evaluate, in_axes=(None, 0, None, None))(spec, params, data, input_range)
    one = jax.tree.map(lambda x: x[net], params)
    inputs = range(spec.n_in)
    states = netlib.hidden_states(spec, one, inputs)
    logits = jnp.where(data.out_mask, netlib.output_logits(one, states, inputs), -jnp.inf)
    codes = states[-1] if states else jnp.zeros((spec.n_in, 0))
    return ev.loss, ev.accuracy, ev.solved, one, codes, netlib.probabilities(spec, logits)


look_program = ProgramCache(_look)  # (spec, input_range) -> program, the least used dropped


def _numbers(a, digits: int = 4):
    """Rounded floats (nested lists) for JSON, which has no NaN or infinity: those are None."""
    a = np.round(np.asarray(a, float), digits)
    if a.ndim == 0:
        return float(a) if math.isfinite(a) else None
    if np.isfinite(a).all():
        return a.tolist()
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def _bytes(values: np.ndarray) -> str:
    """Values in [0, 1] (head outputs) as one byte each, base64: a tenth of the JSON
    numbers' size at n = 100, which is what lets a frame go out while the next trains.
    Rows of the matrix follow each other; the page divides by 255."""
    q = np.rint(np.clip(np.nan_to_num(values), 0, 1) * 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


class Session:
    """A population of `settings.population` networks on the settings' task."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.task = settings.build_task()
        self.spec = settings.spec(self.task)
        self.config = TrainConfig(optimizer=settings.optimizer, lr=settings.lr,
                                  steps=STEPS_MAX, seeds=settings.population,
                                  seed=settings.seed, stop="never",
                                  logit_scale=settings.logit_scale)
        # Trained in the size bucket of the task (as capacity trials are): every n of a
        # bucket shares one compiled program, and the networks train exactly as unpadded
        t = self.task
        self.padded_spec = replace(self.spec, n_in=bucket(t.n_in), n_out=bucket(t.n_out))
        # (pairs padded like the inputs: a shift has n - 1 pairs, and 8 and 11 pairs must
        # not split the bucket 9-12)
        self.data = task_arrays(t, bucket(max(t.n_pairs, t.n_in)), self.padded_spec.n_out,
                                n_in=self.padded_spec.n_in)
        self.input_range = consecutive_inputs(self.data)
        # Compiled programs bounded: the training and look programs by an LRU of shapes
        # (ProgramCache), the small ones JAX keeps itself dropped after 64 new shapes
        release_live_programs()
        # (it compiles its training program now, so that pressing play shows its first
        # frame without waiting for a compilation)
        self.live = Live(self.padded_spec, self.config, self.data, t.n_in, t.n_out)
        self.step = 0
        self.edits: list[list] = []
        self.shown: list[tuple[int, int, np.ndarray]] = []  # (step, net, codes) of frames

    def reset(self) -> None:
        """Back to step 0: the same initial weights, the edits forgotten."""
        self.live.reset()
        self.step = 0
        self.edits = []
        self.shown = []

    @property
    def steps_left(self) -> int:
        return STEPS_MAX - self.step

    def advance(self, steps: int) -> int:
        """Train every network `steps` steps (fewer at the cap); returns the steps taken."""
        steps = max(0, min(int(steps), self.steps_left))
        if steps:
            self.live.advance(self.step, steps)
            self.step += steps
        return steps

    # ---- looking -------------------------------------------------------------------

    def describe(self) -> dict:
        """What does not change while training: the task and the network's shape."""
        t = self.task
        return {"task": {"name": t.name, "n_in": t.n_in, "n_out": t.n_out,
                         "inputs": list(t.inputs),
                         "solve_targets": [int(x) for x in t.solve_targets()],
                         "in_names": [t.in_name(i) for i in range(t.n_in)],
                         "out_names": [t.out_name(j) for j in range(t.n_out)]},
                "spec": self.spec.to_dict(),
                "activation": _activation_range(self.spec.activation)}

    def frame(self, net: int) -> dict:
        """The numbers every view draws, for the population and network `net`."""
        net = self.check_net(net)
        loss, acc, solved, one, codes, probs = jax.device_get(
            look_program(self.padded_spec, self.input_range)(self.live.padded_weights(),
                                                             self.data, net))
        n_in, n_out = self.task.n_in, self.task.n_out
        codes, probs = codes[:n_in], probs[:n_in, :n_out]
        # the shown network only, back to the task's size (not the whole population)
        one = [{k: v[0] for k, v in layer.items()} for layer in unpad_params(
            jax.tree.map(lambda a: a[None], one), n_in, n_out)]
        diverged = self.live.diverged()
        self._keep_shown(net, codes)
        finite = np.isfinite(loss) & ~diverged
        fin = loss[finite] if finite.any() else np.array([np.nan])
        q = np.quantile(fin, [0.1, 0.5, 0.9])
        return {
            "step": self.step,
            "population": {"size": len(loss), "solved": int((solved & ~diverged).sum()),
                           "diverged": int(diverged.sum()),
                           "loss": _numbers(q, 8), "loss_each": _numbers(loss, 8),
                           "accuracy": _numbers(np.quantile(acc, [0.1, 0.5, 0.9])),
                           "accuracy_each": _numbers(acc)},
            "net": {"index": net, "loss": _numbers(loss[net], 8), "accuracy": _numbers(acc[net]),
                    "solved": bool(solved[net] and not diverged[net]),
                    "layers": [{k: _numbers(v) for k, v in layer.items()} for layer in one],
                    "codes": _numbers(codes), "outputs": _bytes(probs),
                    "wins": np.argmax(np.where(np.isfinite(probs), probs, -np.inf),
                                      1).tolist()},
            "edits": len(self.edits),
        }

    def _keep_shown(self, net: int, codes) -> None:
        """Keep the hidden codes a frame shows, for the animation (a step once; when more
        than ANIMATION_FRAMES are kept, every other is dropped, so they stay spread over
        the whole run)."""
        if not self.spec.hidden or (self.shown and self.shown[-1][:2] == (self.step, net)):
            return
        self.shown.append((self.step, net, np.asarray(codes)))
        if len(self.shown) > ANIMATION_FRAMES:
            self.shown = [*self.shown[:-1:2], self.shown[-1]]

    def animation(self) -> str:
        """The hidden codes of the frames shown so far, as one HTML page that plays them
        (draw.animation): how the codes moved while the page watched."""
        from bottlenet.draw.animation import animation_html, codes_svg

        if not self.spec.hidden:
            raise SettingsError("an animation shows the hidden codes: this network has "
                                "no hidden units")
        if not self.shown:
            raise SettingsError("no frames shown yet: play first")
        frames = [(label := f"step {step:,}, network {net}", codes_svg(codes, label))
                  for step, net, codes in self.shown]
        return animation_html(frames, f"{self.task.name}, hidden "
                              f"{'x'.join(map(str, self.spec.hidden))} {self.spec.activation}:"
                              " the codes of the last hidden layer as they moved",
                              frame_ms=150)

    def check_net(self, net) -> int:
        if isinstance(net, bool) or not isinstance(net, int) or not 0 <= net < self.config.seeds:
            raise SettingsError(f"network must be in 0..{self.config.seeds - 1}")
        return net

    def network(self, net: int) -> tuple:
        """Network `net`'s own weights, as numpy arrays."""
        return tuple({k: v[net] for k, v in layer.items()} for layer in self.live.weights())

    # ---- hands on the weights ------------------------------------------------------

    def edit(self, op: list) -> None:
        """Apply one edit and keep it for the link. Ops (JSON lists):
        ["w", net, layer, i, j, value]: set a weight (layer 0 = inputs to hidden);
        ["b", net, layer, j, value]: set a bias;
        ["code", net, input, [h1, h2, ...]]: move an input's hidden code, by setting its
        first-layer weights so that the activations become those values (as near as the
        activation's range allows)."""
        if not isinstance(op, list) or not op:
            raise SettingsError('an edit is a list: ["w", net, layer, i, j, value], '
                                '["b", net, layer, j, value] or ["code", net, input, [h...]]')
        if len(self.edits) >= EDIT_LIMIT:
            raise SettingsError(f"at most {EDIT_LIMIT} edits per run; reset to start again")
        weights = self.network(self.check_net(op[1] if len(op) > 1 else None))
        layers = [{k: np.array(v) for k, v in layer.items()} for layer in weights]
        kind = op[0] if op else None
        if kind in ("w", "b") and len(op) == (6 if kind == "w" else 5):
            layer = _index("layer", op[2], len(layers))
            if kind not in layers[layer]:
                raise SettingsError("this network has no biases")
            a = layers[layer][kind]
            where = (_index("row", op[3], a.shape[0]), _index("column", op[4], a.shape[1])
                     ) if kind == "w" else (_index("unit", op[3], a.shape[0]),)
            a[where] = _finite(op[-1])
        elif kind == "code" and len(op) == 4:
            if len(self.spec.hidden) != 1:
                raise SettingsError("codes can be moved only with one hidden layer")
            i = _index("input", op[2], self.task.n_in)
            code = op[3]
            if not isinstance(code, list) or len(code) != self.spec.hidden[0]:
                raise SettingsError(f"a code has {self.spec.hidden[0]} values")
            target = np.array([_finite(v) for v in code])
            bias = layers[0].get("b", np.zeros_like(target))
            layers[0]["w"][i] = _inverse(self.spec.activation, target) - bias
        else:
            raise SettingsError("unknown edit")
        self.live.set_weights(op[1], tuple(layers))
        self.edits.append([self.step, *op])

    def replay(self, step, edits, cancelled=lambda: False, progress=None) -> None:
        """From step 0 to `step`, applying `edits` ([step, op...] each, as `self.edits`
        keeps them) at their steps: the state a shared link describes. It trains in
        chunks of about REPLAY_CHUNK_S: between them it stops (Cancelled) once
        `cancelled()` says so, and tells `progress(step done, step)`."""
        step = _index("step", step, STEPS_MAX + 1)
        if not isinstance(edits, list) or len(edits) > EDIT_LIMIT:
            raise SettingsError("malformed edits")
        self.reset()
        for e in sorted(edits, key=lambda e: e[0] if isinstance(e, list) and e else -1):
            if not isinstance(e, list) or not e or not isinstance(e[0], int) or e[0] > step:
                raise SettingsError("malformed edits")
            self._train_to(e[0], step, cancelled, progress)
            self.edit(e[1:])
        self._train_to(step, step, cancelled, progress)

    def _train_to(self, target: int, total: int, cancelled, progress) -> None:
        chunk = 64
        while self.step < target:
            if cancelled():
                raise Cancelled
            start = time.perf_counter()
            self.advance(min(chunk, target - self.step))
            took = time.perf_counter() - start
            if progress:
                progress(self.step, total)
            chunk = max(1, round(chunk * min(4.0, max(0.25, REPLAY_CHUNK_S / max(took, 1e-6)))))

    # ---- keeping -------------------------------------------------------------------

    def population(self) -> Population:
        """The current population as `bottlenet show`/`draw` read it."""
        loss, acc, solved, *_ = jax.device_get(
            look_program(self.padded_spec, self.input_range)(self.live.padded_weights(),
                                                             self.data, 0))
        weights = self.live.weights()
        diverged = self.live.diverged()
        pop = Population.from_weights(self.spec, self.task, weights, solved & ~diverged, loss,
                                      acc, np.arange(self.config.seed,
                                                     self.config.seed + self.config.seeds))
        # When each network first solved is not known here (frames look now and then)
        return replace(pop, config=replace(self.config, steps=max(self.step, 1)),
                       steps_run=self.step, diverged=diverged,
                       solve_step=np.full(pop.size, -1))

    def export(self, what: str, net: int) -> tuple[str, bytes]:
        """A file's name and bytes: "model" (the population, .npz) or one of PICTURES
        (network `net`, drawn as `bottlenet draw` draws it)."""
        net = self.check_net(net)
        if not isinstance(what, str) or (what not in ("model", "animation.html")
                                         and what not in PICTURES):
            raise SettingsError("export takes \"model\", \"animation.html\" or one of "
                                f"{', '.join(sorted(PICTURES))}")
        stem = f"{self.task.name}-k{'x'.join(map(str, self.spec.hidden)) or 0}-step{self.step}"
        if what == "animation.html":
            return f"{stem}-animation.html", self.animation().encode("utf-8")
        with tempfile.TemporaryDirectory() as folder:
            if what == "model":
                path = modelfile.save(self.population(), Path(folder) / f"{stem}.npz")
            elif what in PICTURES:
                from bottlenet.draw.common import save
                from bottlenet.draw.network import diagram
                from bottlenet.draw.space import hidden_space

                view, suffix = what.split(".")
                weights = self.network(net)
                if view == "space" and not self.spec.hidden:
                    raise SettingsError("a network without hidden units has no hidden space")
                fig = (diagram(self.spec, self.task, weights) if view == "diagram"
                       else hidden_space(self.spec, self.task, weights))
                path = save(fig, Path(folder) / f"{stem}-net{net}-{view}.{suffix}")
            else:
                raise SettingsError(f"cannot export {what!r}")
            return path.name, path.read_bytes()


def _index(name: str, value, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise SettingsError(f"{name} must be in 0..{size - 1}")
    return value


def _finite(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingsError("a weight must be a finite number")
    if abs(value) > 1e6:
        raise SettingsError("a weight must lie within -1e6..1e6")
    return float(value)


def _activation_range(name: str) -> list:
    act = activations.get(name)
    return [None if math.isinf(act.low) else act.low, None if math.isinf(act.high) else act.high]


def _inverse(name: str, target: np.ndarray) -> np.ndarray:
    """Pre-activations z with act(z) as near `target` as the activation allows (bisection:
    every built-in activation is non-decreasing)."""
    fn = activations.get(name).fn
    lo, hi = np.full(target.shape, -30.0), np.full(target.shape, 30.0)
    for _ in range(50):
        mid = (lo + hi) / 2
        below = np.asarray(fn(jnp.asarray(mid))) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2
