"""The playground in a real browser: the page served as `bottlenet serve` serves it,
driven by Playwright in headless Chromium (Debian's package, no browser download).

The page loads, play trains shift-5 to 100%, every drawn line has the colour
`bottlenet draw` gives its weight, hovering names a weight, a shared link opens the same
state in a new tab, and a screenshot is saved. `.ci/run` installs Chromium and sets
BOTTLENET_BROWSER_REQUIRED, so on CI a missing browser fails instead of skipping."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import uvicorn

from bottlenet.cli.serve import _listen
from bottlenet.draw.common import sign_of_colour, signed_colour
from bottlenet.serve.app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("BOTTLENET_BROWSER_REQUIRED"):
        raise RuntimeError("the browser test needs Chromium (apt-get install chromium)")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

from conftest import needs  # noqa: E402

needs("playwright", "browser-tests")
from playwright.sync_api import sync_playwright  # noqa: E402

SHIFT5 = "#symbols=5&population=4"
LINES = """() => [...document.querySelectorAll('#diagram line')].map(l => [
    l.getAttribute('stroke'), Number(l.dataset.w), Number(l.dataset.scale)])"""


@pytest.fixture(scope="module")
def server():
    """The app served by uvicorn in a thread of this process (its compiled programs are
    shared with the other tests; the command itself is started in test_serve_command)."""
    sock = _listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", ws="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def test_serve_command_serves_the_page_without_importing_jax():
    """As a user starts it; JAX is imported only once a page asks for a run."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('jax imported:', 'jax' in sys.modules, flush=True))\n"
            "from bottlenet.cli import main\nmain()")
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("bottlenet playground: http://127.0.0.1:"), line
        for path, text in (("/", b"playground.js"), ("/api/config", b'"caps"')):
            with urllib.request.urlopen(line.split()[2] + path, timeout=10) as page:
                assert text in page.read()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a quiet stop, the process exits normally
        rest = proc.communicate(timeout=10)[0]
    assert proc.returncode == 0 and "jax imported: False" in rest


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser, url: str, problems: list):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_function("!document.getElementById('play').disabled", timeout=60_000)
    return page


def test_play_trains_shift5_and_a_link_reopens_it(server, browser, tmp_path: Path):
    problems: list[str] = []
    page = open_page(browser, server + "/" + SHIFT5, problems)
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('status').dataset.accuracy) === 1",
                           timeout=60_000)
    page.click("#play")  # pause
    page.wait_for_function("document.getElementById('status').textContent.includes('paused')")

    lines = page.evaluate(LINES)
    assert len(lines) == 2 * 5 * 2  # 5 inputs -> 2 units -> 5 outputs
    for stroke, w, scale in lines:
        assert stroke == signed_colour(w, scale)
        assert sign_of_colour(stroke) == (w > 0) - (w < 0)

    page.hover("#diagram line >> nth=0")
    assert "w =" in page.inner_text("#tip")

    page.click("#diagram circle[data-col='0'][data-index='1']")  # input 2: its walkthrough
    assert "the output with the largest sum wins" in page.inner_text("#walk")

    # The link, the step and the weights read at one moment (one evaluation: no frame can
    # come between), once the address names the step shown; a frame still on its way
    # when the pause was clicked may move both, so read again until they agree.
    for _ in range(100):
        page.wait_for_function("location.hash.includes('step=' + document.getElementById("
                               "'status').dataset.step + '&') || location.hash.endsWith("
                               "'step=' + document.getElementById('status').dataset.step)")
        link, step, lines = page.evaluate(
            "() => [location.href, document.getElementById('status').dataset.step, "
            f"({LINES})()]")
        if f"step={step}&" in link or link.endswith(f"step={step}"):
            break
        page.wait_for_timeout(100)
    other = open_page(browser, link, problems)
    other.wait_for_function(f"document.getElementById('status').dataset.step === '{step}'")
    assert other.evaluate(LINES) == lines
    assert other.input_value("#symbols") == "5" and other.input_value("#population") == "4"

    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    assert problems == []


def test_a_bad_table_is_said_in_the_page(server, browser):
    problems: list[str] = []
    page = open_page(browser, server + "/" + SHIFT5, problems)
    page.select_option("#task", "table")
    page.fill("#table", "H,E\nE")
    page.locator("#table").dispatch_event("change")
    # (the server answers each rebuild; choosing the table task before the table is
    # filled in gets "paste a table first", which may still be shown when the second
    # answer is on its way: wait for that one. On a loaded machine the select's own
    # rebuild may fire after the table is filled, so two rebuilds give this answer, and
    # the second clears it while it waits: the message is read in the same check.)
    page.wait_for_function("!document.getElementById('error').hidden && document"
                           ".getElementById('error').textContent.includes("
                           "'every row must be input,output')", timeout=20_000)
    assert problems == []


def test_the_first_click_after_a_change_plays_the_new_run(server, browser):
    """Typing a new n and clicking play at once (the field's change fires just before the
    click) plays the run with the new n: one click, not two."""
    problems: list[str] = []
    page = open_page(browser, server + "/" + SHIFT5, problems)
    page.fill("#symbols", "7")
    page.click("#play")  # blurs the field (its change) and clicks, as a hand does
    page.wait_for_function("Number(document.getElementById('status').dataset.step) > 0",
                           timeout=60_000)
    assert page.evaluate("document.querySelectorAll('#diagram circle').length") == 7 + 2 + 7
    assert problems == []


PAUSE_FRAMES = """() => new Promise((resolve) => {
  let frames = 0;
  state.ws.addEventListener('message', (ev) => {
    if (JSON.parse(ev.data).type === 'frame') frames += 1;
  });
  document.getElementById('play').click();
  const check = () => document.getElementById('status').textContent.includes('paused')
    ? resolve(frames) : requestAnimationFrame(check);
  check();
})"""


@pytest.mark.slow
def test_a_pause_shows_at_once_at_n_200(server, browser):
    """At n = 200, k = 3, after 15 s at full speed, the pause shows after at most three
    more frames: frames never queue up behind the page (it acks each one it has drawn).
    Without the acks a slow page fell 12-27 s of frames behind. How long the pause takes
    (issue 29: <= 0.3 s) is measured by benchmarks/serve_stream.py, not here: a test's
    timing depends on the machine's load (317 ms once in CI beside other work)."""
    problems: list[str] = []
    page = open_page(browser, server + "/#symbols=200&hidden=3&speed=0", problems)
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('status').dataset.step) > 0",
                           timeout=60_000)
    page.wait_for_timeout(15_000)
    # at most: the frame on its way when the page asked, the one its steps were training
    # for, and the frame that shows where the run stopped
    frames = page.evaluate(PAUSE_FRAMES)
    assert frames <= 3, f"the pause showed after {frames} more frames"
    assert problems == []


def test_a_restored_link_keeps_its_edits_in_its_address(server, browser):
    """A link with edits reopens with them, and its tab's address still carries them (the
    link works again from the restored tab)."""
    import json
    from urllib.parse import parse_qs, quote

    problems: list[str] = []
    edits = [[0, "b", 0, 1, 2, -0.25]]
    page = open_page(browser, f"{server}/{SHIFT5}&step=0&edits={quote(json.dumps(edits))}",
                     problems)
    page.wait_for_function("location.hash.includes('edits=')", timeout=10_000)
    kept = parse_qs(page.evaluate("location.hash.slice(1)"))["edits"][0]
    assert json.loads(kept) == edits
    assert problems == []


VIEWS = """() => ({scroll: document.documentElement.scrollWidth,
  width: document.documentElement.clientWidth,
  views: [...document.querySelectorAll('.view')].map((v) => {
    const r = v.getBoundingClientRect(); return [r.right, r.bottom]; })})"""


@pytest.mark.slow  # 6 s: a run at n = 200 is built for the narrow page
def test_one_screen_at_1400_and_no_sideways_scroll_at_800(server, browser):
    """The controls across the top and the four views side by side: at n = 64 they all
    fit 1,400 x 900 (a tall diagram scrolls inside its box), and at 800 px wide the page
    never scrolls sideways."""
    problems: list[str] = []
    page = open_page(browser, server + "/#symbols=64&hidden=2", problems)
    page.wait_for_function("document.getElementById('status').dataset.step !== undefined")
    m = page.evaluate(VIEWS)
    assert all(right <= 1400 and bottom <= 900 for right, bottom in m["views"]), m
    assert "step 0" in page.inner_text("#step-count")
    narrow = browser.new_page(viewport={"width": 800, "height": 900})
    narrow.goto(server + "/#symbols=200&hidden=3")
    narrow.wait_for_function("document.getElementById('status').dataset.step !== undefined",
                             timeout=60_000)
    m = narrow.evaluate(VIEWS)
    assert m["scroll"] <= m["width"], m
    assert problems == []


@pytest.mark.slow  # (links are tested by the first browser test; this one adds a layer)
def test_a_link_with_two_hidden_layers(server, browser):
    problems: list[str] = []
    page = open_page(browser, server + "/#symbols=5&hidden=3,2&population=4", problems)
    page.wait_for_function("document.getElementById('status').dataset.step !== undefined")
    assert page.input_value("#hidden") == "3,2"
    assert page.evaluate("document.querySelectorAll('#diagram circle').length") == 5 + 3 + 2 + 5
    assert "last of 2 hidden layers" in page.inner_text("#space-note")
    page.wait_for_function("location.hash.includes('hidden=3%2C2')")
    assert problems == []


def test_the_winner_grid_is_labelled_and_each_output_has_its_heatmap(server, browser):
    problems: list[str] = []
    page = open_page(browser, server + "/" + SHIFT5, problems)
    page.wait_for_function("document.getElementById('status').dataset.step !== undefined")
    assert page.evaluate("document.getElementById('grid').width") > 5 * 24  # labels' room
    page.click("#units-box summary")
    page.wait_for_function("document.querySelectorAll('#units canvas').length === 5")
    # each heatmap is drawn: not one colour (the output rises somewhere, falls elsewhere)
    spread = page.evaluate("""() => [...document.querySelectorAll('#units canvas')].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lo = 255, hi = 0;
        for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
        return hi - lo; })""")
    assert all(s > 20 for s in spread), spread
    assert problems == []
