"""The claims' words as data: every claim has them, the quotes are the article's own
words, a stored result is shown with today's words, and the report prints what was not
measured. And the claims' charts, drawn from hand-made numbers."""

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from bottlenet.draw import claims as charts
from bottlenet.experiments import CLAIMS
from bottlenet.experiments.base import HOLDS, ClaimResult
from bottlenet.experiments.texts import TEXTS
from bottlenet.report import write_report

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed"


def test_every_claim_has_its_words_and_nothing_else_does():
    assert list(TEXTS) == list(CLAIMS)
    for cid, t in TEXTS.items():
        assert t.title and t.quote and t.claim and t.article_figure, cid
        assert "  " not in t.notes + t.out_of_reach, f"{cid}: a line break lost a space"


def _plain(text: str) -> str:
    """The article's Markdown and LaTeX as words: '$11 \\times 11$' -> '11 x 11'."""
    text = re.sub(r"\\text\{([^}]*)\}", r"\1", text)
    text = text.replace("\\times", "x").replace("\\tanh", "tanh").replace("$", "")
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"\s+", " ", text.replace("*", ""))
    return re.sub(r" ([,.])", r"\1", text).lower()  # '$x$ , it' -> 'x, it'


@pytest.mark.skipif(not SEED.is_dir(), reason="the article is in ../shared/seed beside a checkout")
def test_quotes_are_the_articles_words():
    article = _plain(" ".join(p.read_text("utf-8") for p in SEED.iterdir()))
    for cid, t in TEXTS.items():
        for piece in re.split(r"\s*\.\.\.\s*", t.quote):
            assert _plain(piece).strip() in article, f"{cid}: {piece!r}"


def _result(**words) -> ClaimResult:
    return ClaimResult("C7", "t", "q", "c", "f", "measured", HOLDS, "rule", {}, {"x": 1}, [],
                       **words)


def test_the_report_says_what_was_not_measured(tmp_path):
    index = write_report([_result(out_of_reach="Only at k = 2, because of time.")],
                         tmp_path / "r", {})
    html = index.read_text()
    assert "Not measured" in html and "Only at k = 2, because of time." in html
    index = write_report([_result()], tmp_path / "s", {})
    assert "Not measured" not in index.read_text()


def test_a_stored_measurement_is_shown_with_todays_words(tmp_path):
    from bottlenet.experiments import Budget, Context, run_claim
    from bottlenet.store import Store

    with Store(tmp_path / "r.db") as store:
        ctx = Context(Budget.tiny(), store)
        run_claim("C1", ctx)
        result, cached = run_claim("C1", ctx)
    assert cached
    assert result.title == TEXTS["C1"].title and result.notes == TEXTS["C1"].notes
    assert result.quote == TEXTS["C1"].quote and result.out_of_reach == TEXTS["C1"].out_of_reach


def _lines(fig) -> list:
    return [line for ax in fig.axes for line in ax.get_lines() if line.get_label()[0] != "_"]


def test_claim_charts_draw_the_numbers_they_are_given():
    curves = {r: {d: {"step": [0, 10, 20], "max_weight": [1, 2, 4], "accuracy": [0, .5, 1]}
                  for d in ("a", "b", "c")} for r in ("adam", "sgd")}
    fig = charts.heads_chart(curves)
    assert len(fig.axes) == 4 and len(_lines(fig)) == 12
    assert list(_lines(fig)[0].get_ydata()) == [1, 2, 4]
    plt.close(fig)

    pruning = [{"fraction": 0.5, "still_solved": 0.25, "accuracy": 0.6},
               {"fraction": 0.0, "still_solved": 1.0, "accuracy": 1.0}]
    fig = charts.pruning_chart(pruning, 12)
    assert [list(line.get_ydata()) for line in _lines(fig)] == [[1.0, 0.25], [1.0, 0.6]]
    assert list(_lines(fig)[0].get_xdata()) == [0.0, 50.0]
    plt.close(fig)

    timings = [{"n": n, "k": k, "connections": 2 * n * k, "seconds_per_example": 1e-9 * n}
               for k in (2, 4) for n in (32, 64)]
    fig = charts.cost_and_capacity_chart(timings, 1.0, {"2": 11, "3": 30, "4": 100}, 2.1)
    assert list(_lines(fig)[2].get_ydata()) == [11, 30, 100]  # string keys, as stored
    plt.close(fig)

    fig = charts.word_probability_chart({"HELO": 0.5, "HELLO": 0.25}, {"HELO": 0.49,
                                                                       "HELLO": 0.26}, 100)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [0.5, 0.25, 0.49, 0.26]
    plt.close(fig)

    fig = charts.rate_bars(["a", "b"], [3, 0], [4, 4], "t")
    assert [p.get_height() for p in fig.axes[0].patches] == [0.75, 0.0]
    plt.close(fig)

    fig = charts.logistic_chart({"as is": 1.0}, {"as is": 0.044})
    assert len(_lines(fig)) == 3
    plt.close(fig)
