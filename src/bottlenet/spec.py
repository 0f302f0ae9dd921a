"""The shape of a network: n_in one-hot inputs -> hidden layers -> n_out outputs, with
its activation, biases and output head. A plain value, JAX-free (the functions that
compute with it are in net.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bottlenet import checks
from bottlenet.choices import ACTIVATIONS, HEADS
from bottlenet.errors import SpecError


@dataclass(frozen=True)
class NetSpec:
    n_in: int
    n_out: int
    hidden: tuple[int, ...] = (2,)  # () = direct connections (the article's k = 0)
    activation: str = "tanh"
    bias: bool = True
    head: str = "softmax"  # softmax + cross-entropy, or tanh/sigmoid + squared error

    def __post_init__(self):
        checks.whole("inputs", self.n_in, 1, checks.SYMBOLS_MAX)
        checks.whole("outputs", self.n_out, 2, checks.SYMBOLS_MAX)
        for h in self.hidden:
            checks.whole("hidden layer size (use 0 alone for none)", h, 1, checks.HIDDEN_MAX)
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.activation not in ACTIVATIONS:  # a registered one, or unknown: ask
            from bottlenet import activations

            activations.get(self.activation)
        if self.head not in HEADS:
            raise SpecError(f"unknown output head {self.head!r}; choose one of: "
                            f"{', '.join(HEADS)}")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_in, *self.hidden, self.n_out)

    @property
    def n_connections(self) -> int:
        """Weights between layers, biases not counted (the article's count: 11*2*2=44)."""
        s = self.sizes
        return sum(a * b for a, b in zip(s[:-1], s[1:], strict=True))

    @property
    def n_params(self) -> int:
        return self.n_connections + (sum(self.sizes[1:]) if self.bias else 0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NetSpec:
        """From a file's JSON: every field of its own type, or SpecError."""
        kinds = {"n_in": int, "n_out": int, "hidden": list, "activation": str, "bias": bool,
                 "head": str}
        if not isinstance(d, dict) or any(not isinstance(d.get(k), t) for k, t in kinds.items()):
            raise SpecError("the network spec is malformed")
        return cls(d["n_in"], d["n_out"], tuple(d["hidden"]), d["activation"], d["bias"],
                   d["head"])
