"""A claim as data. `measure` runs the experiment and returns its numbers, typed (a
TypedDict per claim, JSON-ready): the only thing the results database keeps. `judge`
(the verdict rule), `describe` (the measurement in one sentence) and `draw` (the
pictures) are pure functions of those numbers and run at every report, so a corrected
rule, sentence or chart shows on the next `reproduce` without measuring again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bottlenet.draw.common import png_base64
from bottlenet.experiments.base import ClaimResult, Measured
from bottlenet.experiments.context import Context
from bottlenet.experiments.texts import TEXTS
from bottlenet.experiments.verdicts import Decision

M = TypeVar("M", bound=Measured)

# (caption, figure): figures are made at report time and never stored
Picture = tuple[str, Any]


@dataclass(frozen=True)
class Claim(Generic[M]):
    id: str
    measure: Callable[[Context], M]
    judge: Callable[[M], Decision]
    describe: Callable[[M], str]
    draw: Callable[[M], list[Picture]]
    # The measurement's version: raise it when `measure` changes what it returns or how
    # it measures, so that older stored measurements are measured again (a change to
    # judge, describe or draw needs nothing: they run on every report).
    schema: int = 1

    def result(self, numbers: M, seconds: float = 0.0) -> ClaimResult:
        """The claim as the report shows it: words from claims.toml, the verdict, the
        sentence and the pictures, all from `numbers`."""
        decision = self.judge(numbers)
        text = TEXTS[self.id]
        pictures = [(caption, png_base64(fig)) for caption, fig in self.draw(numbers)]
        shown = {k: v for k, v in numbers.items() if k != "regime"}
        return ClaimResult(
            self.id, text.title, text.quote, text.claim, text.article_figure,
            self.describe(numbers), decision.verdict, decision.rule, numbers["regime"],
            {**shown, "parts": decision.parts}, pictures, text.notes, seconds,
            deciding=decision.deciding, out_of_reach=text.out_of_reach)
