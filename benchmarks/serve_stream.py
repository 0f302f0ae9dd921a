"""The playground's streaming: frames per second at full speed, and the training speed
that streaming costs against `bottlenet train` (the same population, task and steps,
measured in the same run).

    uv run python benchmarks/serve_stream.py            # n = 11, k = 2 and n = 100, k = 4
    uv run python benchmarks/serve_stream.py --seconds 3

Goals (issue 16): >= 20 frames/s, < 20% of train's network-steps/s lost, and play to
first frame under 2 s. The app runs in this process behind Starlette's test client, so
the figures include JSON encoding and decoding of every frame but no browser drawing.

Then, where Playwright and Chromium are installed (`uv sync --group browser-tests`), a
real page: frames drawn per second at n = 200, k = 3 after 15 s at full speed, and how
long a pause takes to show (issue 29: <= 0.3 s; the page acks each frame it has drawn,
and before that a pause could take 12-27 s behind the frames queued for a slow page).
"""

from __future__ import annotations

import argparse
import json
import time

from starlette.testclient import TestClient

from bottlenet.cli import _enable_compilation_cache

_enable_compilation_cache()  # as `bottlenet serve` runs: compiled programs kept on disk

from bottlenet import tasks, trainer  # noqa: E402  (JAX reads the cache setting at import)
from bottlenet.serve.app import create_app  # noqa: E402
from bottlenet.spec import NetSpec  # noqa: E402


def train_rate(n: int, k: int, population: int, seconds: float) -> float:
    """Network-steps per second of `bottlenet train --stop never`, compile excluded: the
    same run twice, the first compiling (its steps chosen to last about `seconds`)."""
    task, spec = tasks.shift(n), NetSpec(n, n, (k,))
    steps = 200
    while True:
        trainer.train(task, spec, steps=steps, seeds=population, stop="never")  # compile
        pop = trainer.train(task, spec, steps=steps, seeds=population, stop="never")
        if pop.wall_time > seconds / 4:
            return population * steps / pop.wall_time
        steps = int(steps * min(16, seconds / max(pop.wall_time, 1e-3)))


def stream(client, n: int, k: int, population: int, seconds: float) -> dict:
    with client.websocket_connect("/ws") as ws:
        def receive(kind):
            while True:
                msg = json.loads(ws.receive_text())
                if msg["type"] == "frame":  # drawn at once (the page acks once it drew it)
                    ws.send_text(json.dumps({"type": "drawn"}))
                if msg["type"] == kind:
                    return msg
                if msg["type"] == "error":
                    raise RuntimeError(msg["message"])

        def configure():
            start = time.perf_counter()
            ws.send_text(json.dumps({"type": "configure", "settings": {
                "symbols": n, "hidden": k, "population": population}}))
            receive("ready")
            receive("frame")
            return time.perf_counter() - start

        cold = configure()
        warm = configure()
        ws.send_text(json.dumps({"type": "speed", "steps_per_s": 0}))
        start = time.perf_counter()
        ws.send_text(json.dumps({"type": "play"}))
        first = receive("frame")
        to_first = time.perf_counter() - start
        t0, s0, frames = time.perf_counter(), first["step"], 0
        while time.perf_counter() - t0 < seconds:
            last = receive("frame")
            frames += 1
        elapsed = time.perf_counter() - t0
        ws.send_text(json.dumps({"type": "pause"}))
    return {"frames_per_s": frames / elapsed,
            "network_steps_per_s": population * (last["step"] - s0) / elapsed,
            "first_frame_s": to_first, "build_cold_s": cold, "build_warm_s": warm}


PAGE_PROBE = """() => new Promise((resolve) => {
  const seen = [];
  const watch = () => {
    seen.push([performance.now(), document.getElementById('status').dataset.step]);
    if (seen.length < 10000) requestAnimationFrame(watch);
  };
  const t0 = performance.now(); const s0 = document.getElementById('status').dataset.step;
  setTimeout(() => {
    const drawn = new Set(seen.map((x) => x[1])).size;
    const start = performance.now();
    document.getElementById('play').click();
    const check = () => document.getElementById('status').textContent.includes('paused')
      ? resolve([drawn / ((start - t0) / 1000), performance.now() - start])
      : requestAnimationFrame(check);
    check();
  }, 5000);
  watch();
})"""


def page_figures(n: int = 200, k: int = 3, warmup_s: float = 15.0) -> tuple[float, float] | None:
    """(frames drawn per second over 5 s, pause delay in ms) of a real page, or None
    without Playwright and Chromium."""
    import shutil
    import socket
    import threading

    try:
        import uvicorn
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/#symbols={n}&hidden={k}&speed=0"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.wait_for_function("!document.getElementById('play').disabled",
                                   timeout=120_000)
            page.click("#play")
            page.wait_for_timeout(warmup_s * 1000)
            rate, delay = page.evaluate(PAGE_PROBE)
            browser.close()
    finally:
        server.should_exit = True
    return rate, delay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per size")
    parser.add_argument("--population", type=int, default=64)
    args = parser.parse_args()
    print(f"population {args.population}, {args.seconds:g} s per measurement")
    print(f"{'size':>12} {'frames/s':>9} {'stream net-steps/s':>19} {'train net-steps/s':>18} "
          f"{'lost':>6} {'play->frame':>12} {'build':>14}")
    with TestClient(create_app(("testserver",))) as client:
        for n, k in ((11, 2), (100, 4)):
            base = train_rate(n, k, args.population, args.seconds)
            s = stream(client, n, k, args.population, args.seconds)
            lost = 1 - s["network_steps_per_s"] / base
            print(f"{f'n={n} k={k}':>12} {s['frames_per_s']:9.1f} "
                  f"{s['network_steps_per_s']:19,.0f} {base:18,.0f} {lost:6.0%} "
                  f"{s['first_frame_s']:10.3f} s "
                  f"{s['build_cold_s']:5.1f}/{s['build_warm_s']:.1f} s")
    print("lost: training speed that streaming costs; build: the first and second configure of "
          "the process (the first compiles, or loads from the disk cache when warm)")
    page = page_figures()
    if page is None:
        print("real page: skipped (needs `uv sync --group browser-tests` and Chromium)")
    else:
        print(f"real page, n=200 k=3, after 15 s at full speed: {page[0]:.1f} frames drawn/s, "
              f"pause shown after {page[1]:.0f} ms (goal <= 300 ms)")


if __name__ == "__main__":
    main()
