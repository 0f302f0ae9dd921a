"""Pictures: structure checked in the layout and in the written SVG, not only that a
file appears."""

import re
import xml.etree.ElementTree as ET

import jax.numpy as jnp
import numpy as np
import pytest

from bottlenet import draw, tasks
from bottlenet import net as netlib
from bottlenet.config import TrainConfig
from bottlenet.draw.common import sign_of_colour
from bottlenet.spec import NetSpec
from bottlenet.trainer import train


@pytest.fixture(scope="module")
def small():
    return train(tasks.shift(5), NetSpec(5, 5, (2,)), TrainConfig(seeds=4, steps=1500,
                                                                   snapshots=(0, 100)))


@pytest.fixture(scope="module")
def large():
    """Two networks of 40 symbols with random weights: the diagram draws any weights."""
    from bottlenet.population import Population

    rng = np.random.default_rng(0)
    params = ({"w": rng.normal(size=(2, 40, 4)), "b": rng.normal(size=(2, 4))},
              {"w": rng.normal(size=(2, 4, 40)), "b": rng.normal(size=(2, 40))})
    return Population.from_weights(NetSpec(40, 40, (4,)), tasks.shift(40), params,
                                   solved=[False, False], final_loss=[3.0, 3.0],
                                   final_accuracy=[0.0, 0.0])


def _svg_ids(path):
    root = ET.parse(path).getroot()
    return {el.get("id"): el for el in root.iter() if el.get("id")}


def _stroke(el):
    for child in el.iter():
        m = re.search(r"stroke:\s*(#[0-9a-fA-F]{6})", child.get("style", ""))
        if m:
            return m.group(1)
    return None


def test_diagram_layout_counts_and_colours(small):
    i = small.best()
    params = small.network(i)
    lay = draw.diagram_layout(small.spec, small.task, params)
    assert len(lay.nodes) == 5 + 2 + 5
    assert len(lay.edges) == 5 * 2 + 2 * 5
    assert not lay.numbers  # 5 symbols: lines
    for e in lay.edges:
        assert sign_of_colour(e.colour) == np.sign(e.weight)
        assert e.weight == pytest.approx(float(params[e.layer]["w"][e.src, e.dst]))
    strongest = max(lay.edges, key=lambda e: abs(e.weight) / lay.layer_scales[e.layer])
    assert strongest.width == pytest.approx(3.5)


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_diagram_files(small, tmp_path, suffix):
    path = draw.save(draw.diagram(small.spec, small.task, small.network(0)),
                     tmp_path / f"d{suffix}")
    assert path.stat().st_size > 5000
    if suffix == ".png":
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        return
    ids = _svg_ids(path)
    edges = [k for k in ids if k.startswith("edge-")]
    nodes = [k for k in ids if k.startswith("node-")]
    assert len(edges) == 20 and len(nodes) == 12
    w = small.network(0)
    for k in edges:
        layer, src, dst = map(int, k.split("-")[1:])
        assert sign_of_colour(_stroke(ids[k])) == np.sign(w[layer]["w"][src, dst])


def test_large_network_switches_to_numbers_that_match_the_weights(large, tmp_path):
    params = large.network(0)
    lay = draw.diagram_layout(large.spec, large.task, params)
    assert lay.numbers
    w1 = np.asarray(params[0]["w"]) + np.asarray(params[0]["b"])
    codes = 10 * np.tanh(w1)
    w2 = np.asarray(params[1]["w"])
    for n in lay.nodes:
        if n.layer == 0:
            assert len(n.numbers) == 4
            for h, text in enumerate(n.numbers):
                digits = len(text.split(".")[1]) if "." in text else 0
                assert float(text) == pytest.approx(codes[n.index, h], abs=0.51 * 10**-digits)
        elif n.layer == 2:
            for h, text in enumerate(n.numbers):
                digits = len(text.split(".")[1]) if "." in text else 0
                assert float(text) == pytest.approx(w2[h, n.index], abs=0.51 * 10**-digits)
                if float(text) != 0:
                    assert sign_of_colour(n.number_colours[h]) == np.sign(float(text))
    path = draw.save(draw.diagram(large.spec, large.task, params), tmp_path / "big.svg")
    ids = _svg_ids(path)
    assert sum(k.startswith("num-") for k in ids) == 2 * 40 * 4
    assert sum(k.startswith("node-") for k in ids) == 40 + 4 + 40


def test_lines_on_request_for_large_networks(large):
    lay = draw.diagram_layout(large.spec, large.task, large.network(0), numbers=False)
    assert not lay.numbers and all(not n.numbers for n in lay.nodes)


def test_walkthrough_sums_equal_the_forward_pass(small, tmp_path):
    params = small.network(small.best())
    for i in range(4):
        walk = draw.walkthrough_terms(small.spec, small.task, params, i)
        logits = np.asarray(netlib.forward(small.spec, params, jnp.asarray([i]))[0])
        totals = np.array([o.total for o in walk.outputs])
        np.testing.assert_allclose(totals, logits, rtol=1e-5, atol=1e-5)
        assert sum(o.probability for o in walk.outputs) == pytest.approx(1, rel=1e-5)
        assert walk.winner == int(np.argmax(logits)) == walk.target  # best is solved
        assert len(walk.activations) == 2
    path = draw.save(draw.walkthrough(small.spec, small.task, params, 1, pow2=True),
                     tmp_path / "w.svg")
    ids = _svg_ids(path)
    assert sum(k.startswith("sum-") for k in ids) == 5 and "walk-winner" in ids


def test_walkthrough_direct_connections():
    pop = train(tasks.shift(4), NetSpec(4, 4, ()), TrainConfig(seeds=1, steps=500))
    walk = draw.walkthrough_terms(pop.spec, pop.task, pop.network(0), 2)
    assert walk.activations == ()
    w = pop.network(0)[0]
    assert walk.outputs[3].total == pytest.approx(float(w["w"][2, 3] + w["b"][3]), rel=1e-6)


# (each k trains its own network, 5-9 s: both among the slow tests; the hidden space is
# drawn in the default run from a snapshot and at many symbols below)
@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 3])
def test_hidden_space(k, tmp_path):
    pop = train(tasks.shift(6), NetSpec(6, 6, (k,)), TrainConfig(seeds=2, steps=300))
    path = draw.save(draw.hidden_space(pop.spec, pop.task, pop.network(0)), tmp_path / "s.svg")
    ids = _svg_ids(path)
    panels = 1 if k == 2 else 3
    assert sum(k_.startswith("code-") for k_ in ids) == 5 * panels
    assert sum(k_.startswith("arrow-") for k_ in ids) == 6 * panels


def test_hidden_space_of_a_snapshot(small, tmp_path):
    snap = small.network(0, step=0)  # the initial weights, not the trained ones
    assert not np.allclose(snap[0]["w"], small.network(0)[0]["w"])
    path = draw.save(draw.hidden_space(small.spec, small.task, snap), tmp_path / "s.svg")
    from bottlenet.draw.space import hidden_codes
    codes = hidden_codes(small.spec, snap, [0, 1, 2, 3])
    assert sum(k.startswith("code-") for k in _svg_ids(path)) == 4
    assert codes.shape == (4, 2) and np.abs(codes).max() <= 1


def test_training_charts(small, tmp_path):
    path = draw.save(draw.training_charts(small), tmp_path / "t.png")
    assert path.stat().st_size > 20000


def test_bad_suffix(small, tmp_path):
    from bottlenet.errors import SpecError

    with pytest.raises(SpecError, match=".svg or .png"):
        draw.save(draw.training_charts(small), tmp_path / "t.jpg")


def test_training_charts_need_a_training_record():
    from bottlenet.errors import SpecError
    from bottlenet.population import Population

    spec, task = NetSpec(3, 3, (2,)), tasks.shift(3)
    made = Population.from_weights(spec, task, ({"w": np.ones((1, 3, 2)), "b": np.zeros((1, 2))},
                                                {"w": np.ones((1, 2, 3)), "b": np.zeros((1, 3))}),
                                   solved=[False], final_loss=[1.0], final_accuracy=[0.3])
    with pytest.raises(SpecError, match="no training record"):
        draw.training_charts(made)


def test_capacity_atlas_draws_frontiers_beside_what_k_units_can_represent():
    from bottlenet.capacity import CapacityResult, Frontier, representable
    from bottlenet.config import CapacityConfig

    results = [CapacityResult(CapacityConfig(hidden=k), 0.5, Frontier(n, k == 3, ()))
               for k, n in ((1, 6), (2, 300), (3, 1024))]
    limits = representable([1, 2, 3])
    fig = draw.capacity_atlas({"trained, tanh": results}, limits)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_array_equal(lines["trained, tanh"].get_ydata(), [6, 300, 1024])
    for label, points in limits.items():
        np.testing.assert_array_equal(lines[label].get_ydata(), [points[k] for k in (1, 2, 3)])
    grid, circle = (limits[f"hand-made {m}, float32 (tanh)"] for m in ("grid", "circle"))
    assert grid[3] > circle[3]
    # the censored frontier (k = 3) is a triangle pointing up, the others dots
    dots, triangles = (c.get_offsets() for c in ax.collections)
    np.testing.assert_array_equal(np.asarray(triangles), [[3, 1024]])
    assert ax.get_yscale() == "log"


def test_a_population_and_a_network_show_themselves_in_a_notebook(small):
    html = small._repr_html_()
    assert "<table>" in html and "shift5" in html and "<svg" in html
    assert "<?xml" not in html  # SVG inside HTML carries no prolog
    svg = small.view(1)._repr_svg_()
    assert svg.startswith("<svg") and svg == draw_svg(small, 1)
    assert f"network {small.best()} (the best)" in html
    assert "network 1 of" in small.view(1)._repr_html_()
    with pytest.raises(IndexError, match="not in 0.."):
        small.view(small.size)
    for odd in (1.5, True, "1"):  # refused when asked, not when the notebook draws it
        with pytest.raises(TypeError, match="whole number"):
            small.view(odd)
    assert small.view(np.int64(1)).index == 1


def draw_svg(pop, i):
    from bottlenet.draw.common import svg_text

    return svg_text(draw.diagram(pop.spec, pop.task, pop.network(i),
                                 title=f"{pop.task.name}, network {i}"))


def test_the_dense_picture_s_winners_are_the_argmax_of_every_output():
    """The shading of the dense picture scores only the outputs on the convex hull of
    (w1, w2, b), a chunk of points at a time: the winners are the full argmax's, with
    biases and without (a flat hull), on a circle, a grid and random outputs, and for
    too few outputs to have a hull."""
    from bottlenet.draw import space

    rng = np.random.default_rng(3)
    points = rng.uniform(-3, 3, (20_000, 2))
    angle = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    grid = np.stack(np.meshgrid(np.arange(12.0), np.arange(12.0))).reshape(2, -1)
    cases = [(np.stack([np.cos(angle), np.sin(angle)]), np.zeros(300)),
             (grid, np.zeros(144)), (grid, rng.normal(0, 3, 144)),
             (rng.normal(size=(2, 500)), rng.normal(size=500)),
             (rng.normal(size=(2, 2)), np.zeros(2)), (np.ones((2, 3)), np.zeros(3))]
    for w, b in cases:
        scores = points @ w + b
        full = np.argmax(scores, 1)
        got = space._winners(points, w, b)
        # equal, or (a tie between outputs, which the hull's order may break otherwise)
        # a winner of the same score
        same = got == full
        assert np.allclose(scores[~same, got[~same]], scores[~same, full[~same]])
        assert same.mean() > 0.999


def test_hidden_space_of_many_symbols_is_dots_and_the_output_hull(tmp_path):
    # past LABELS_MAX outputs: no arrows or labels, the codes as dots and the output
    # vectors with their convex hull (here the hand-made circle: all on the hull)
    from bottlenet import construct
    from bottlenet.check import hull_share

    c = construct.construct(tasks.shift(200), 2, 0.9, 0.9)
    share = hull_share(c.params)
    fig = draw.hidden_space(c.spec, c.task, c.params, hull_share=share)
    left, right = fig.axes[:2]
    assert len(left.collections[0].get_offsets()) == 199
    assert len(right.collections[0].get_offsets()) == 200
    assert "99.5% of them on the convex hull" in right.get_title()
    ids = _svg_ids(draw.save(fig, tmp_path / "s.svg"))
    assert not any(k_.startswith(("arrow-", "code-")) for k_ in ids)
