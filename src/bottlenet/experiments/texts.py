"""The claims' words, kept as data in claims.toml beside this module: what the article
says, what we test, its figure, why the numbers come out so, and which regimes are out
of reach."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class ClaimText:
    title: str
    quote: str  # the article's words (or the comment's)
    claim: str  # the claim in our words
    article_figure: str
    notes: str = ""  # why the measurement comes out as it does
    out_of_reach: str = ""  # regimes the article or a commenter meant, not measured, and why


def load() -> dict[str, ClaimText]:
    raw = tomllib.loads(resources.files(__package__).joinpath("claims.toml").read_text("utf-8"))
    return {cid: ClaimText(**fields) for cid, fields in raw.items()}


TEXTS = load()
