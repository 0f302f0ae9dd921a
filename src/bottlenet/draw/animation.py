"""A training run as one self-contained HTML file that plays without a server: every
frame an inline SVG picture (a network's diagram or its hidden space at one step), a
play button, a slider and the step, in plain JavaScript. `bottlenet draw --animate` makes
it from a saved population's snapshots; the playground's "keep: animation" from the
frames it showed."""

from __future__ import annotations

import html
import json

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1rem; color: #222; }}
#frames > div {{ display: none; }} #frames > div.on {{ display: block; }}
#frames svg {{ max-width: 100%; height: auto; }}
.bar {{ display: flex; gap: 0.8rem; align-items: center; margin: 0.5rem 0; }}
input[type=range] {{ flex: 1; }}
</style></head><body>
<h1 style="font-size:1.2rem">{title}</h1>
<div class="bar"><button id="play">play</button>
<input id="at" type="range" min="0" max="{last}" value="0" aria-label="frame">
<span id="label"></span></div>
<div id="frames">{frames}</div>
<script>
const labels = {labels};
const frames = document.querySelectorAll("#frames > div");
let at = 0, timer = null;
function show(i) {{
  frames[at].classList.remove("on");
  at = i;
  frames[at].classList.add("on");
  document.getElementById("at").value = at;
  document.getElementById("label").textContent = labels[at];
}}
function stop() {{
  clearInterval(timer);
  timer = null;
  document.getElementById("play").textContent = "play";
}}
document.getElementById("play").onclick = () => {{
  if (timer) {{ stop(); return; }}
  if (at === frames.length - 1) show(0);
  document.getElementById("play").textContent = "pause";
  timer = setInterval(() => at + 1 < frames.length ? show(at + 1) : stop(), {delay});
}};
document.getElementById("at").oninput = (e) => {{ stop(); show(Number(e.target.value)); }};
show(0);
</script></body></html>
"""


def animation_html(frames: list[tuple[str, str]], title: str, frame_ms: int = 400) -> str:
    """frames: (label, SVG markup without a prolog) in playing order."""
    if not frames:
        raise ValueError("an animation needs at least one frame")
    body = "".join(f"<div>{svg}</div>" for _, svg in frames)
    return _PAGE.format(title=html.escape(title), last=len(frames) - 1, frames=body,
                        labels=json.dumps([label for label, _ in frames]), delay=int(frame_ms))


def codes_svg(codes, label: str, size: int = 360) -> str:
    """The hidden codes of every input (rows of `codes`, the first two units on the axes,
    each within [-1, 1] for tanh; others scaled to fit) as a small SVG: input i a dot
    coloured by its place in the alphabet, so neighbours in the task are neighbours in
    hue. Fast and small, for an animation of hundreds of frames at n = 200."""
    import numpy as np

    c = np.asarray(codes, float)
    if c.ndim != 2 or c.shape[1] < 1:
        raise ValueError("codes are rows of at least one hidden value")
    xy = np.column_stack([c[:, 0], c[:, 1] if c.shape[1] > 1 else np.zeros(len(c))])
    reach = max(1.0, float(np.nanmax(np.abs(xy))) if np.isfinite(xy).any() else 1.0)
    pad, half = 14, size / 2
    pos = half + (half - pad) * np.nan_to_num(xy) / reach * np.array([1, -1])
    n = len(c)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{max(2.0, min(6.0, 120 / n ** 0.5)):.1f}" '
        f'fill="hsl({360 * i / n:.0f},70%,45%)"><title>input {i + 1}</title></circle>'
        for i, (x, y) in enumerate(pos))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + 20}" '
            f'viewBox="0 0 {size} {size + 20}"><rect x="{pad}" y="{pad}" '
            f'width="{size - 2 * pad}" height="{size - 2 * pad}" fill="none" stroke="#ccc"/>'
            f'<line x1="{half}" y1="{pad}" x2="{half}" y2="{size - pad}" stroke="#eee"/>'
            f'<line x1="{pad}" y1="{half}" x2="{size - pad}" y2="{half}" stroke="#eee"/>'
            f'{dots}<text x="{pad}" y="{size + 12}" font-size="12" font-family="sans-serif">'
            f"{html.escape(label)} (hidden units 1 and 2; reach {reach:.2g})</text></svg>")
