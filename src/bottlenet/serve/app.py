"""The playground's web app (Starlette): the static page, its settings, and one websocket
per tab over which a run is controlled and its frames stream.

A tab's run lives exactly as long as its websocket: closing the tab stops it, and
cancels its work (a link's replay too) within a fraction of a second. All JAX work of
every tab (building, training, looking, editing, exporting) happens in one worker
thread, one call at a time: the event loop stays free to hear "pause" while a frame
trains, no state is ever touched by two threads at once, and no two computations run
at once (two tabs training at once on the CPU's XLA devices deadlocked: each run's
population is split over the devices, and their collective steps waited for each
other's threads, "Expected 2 threads to join the rendezvous"). At most PLAYING_AT_ONCE
runs play at a time; the others wait, and their page says so.

Safety: the browser page is the only client that matters, so a websocket whose Origin
is not the page's own address is refused (another site open in the same browser cannot
drive the run), and when bound to loopback only loopback Host names are served (DNS
rebinding). Nothing the client sends names a file."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from bottlenet.choices import ACTIVATIONS, HEADS, OPTIMIZERS
from bottlenet.errors import BottlenetError
from bottlenet.serve.settings import CAPS, SPEEDS, TASK_CHOICES, Settings, SettingsError

log = logging.getLogger("bottlenet.serve")
if TYPE_CHECKING:
    from bottlenet.serve.engine import Session

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
FRAME_S = 0.04  # at full speed each frame trains about this long (25 frames/s at most)
MESSAGE_MAX = 64 * 1024  # a pasted table is capped well below this
AT_CAP = f"this run reached the cap of {CAPS['steps']:,} steps; reset to train again"
PLAYING_AT_ONCE = 4  # runs that play at a time; each gets a fair share of the worker

# The one thread that runs every tab's JAX work (see the module's docstring)
WORKER = ThreadPoolExecutor(1, thread_name_prefix="bottlenet-jax")


@functools.cache
def page_config() -> dict:
    """What the page needs to know before it connects: choices, caps, defaults and the
    colours of `bottlenet draw` (so both draw a weight in the same colour)."""
    import matplotlib.colors as mcolors

    from bottlenet.draw.common import AUTO_NUMBERS_ABOVE, CMAP, WIN

    return {"choices": {"task": list(TASK_CHOICES), "activation": list(ACTIVATIONS),
                        "head": list(HEADS), "optimizer": list(OPTIMIZERS),
                        "speed": list(SPEEDS)},
            "caps": CAPS, "defaults": asdict(Settings()),
            "colours": {"scale": [mcolors.to_hex(CMAP(i)) for i in range(CMAP.N)],
                        "win": WIN},
            "numbers_above": AUTO_NUMBERS_ABOVE}


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """A websocket from a browser page carries its page's Origin; only the page this
    server served (same host and port) may connect. Clients that are not browsers send
    no Origin and cannot be driven by another site, so they are let in."""
    if origin is None:
        return True
    return host is not None and urlsplit(origin).netloc == host


class Run:
    """One tab's run: its session, whether it plays, how fast, which network is shown."""

    def __init__(self, ws: WebSocket, slots: asyncio.Semaphore):
        self.ws = ws
        self.slots = slots  # shared by every tab: PLAYING_AT_ONCE
        self.session: Session | None = None
        self.playing = asyncio.Event()
        self.speed = 0  # steps per second; 0 = as fast as it goes
        self.net = 0
        self.fast_steps = 8  # steps per frame at full speed, adapted to FRAME_S
        self.rate = 0.0  # steps per second measured
        self.closed = threading.Event()  # read by a replay in the worker: stop there
        # Flow control: the page says "drawn" once it has drawn a frame; while playing,
        # the next frame is made and sent only then (training goes on meanwhile), so
        # frames never queue up behind a slow page and a pause shows at once.
        self.drawn = asyncio.Event()
        self.drawn.set()
        self.pending: set[asyncio.Future] = set()

    async def call(self, fn, *args):
        """fn(*args) in the worker, after every call queued before it (any tab's)."""
        future = asyncio.get_running_loop().run_in_executor(WORKER, fn, *args)
        self.pending.add(future)
        try:
            return await future
        finally:
            self.pending.discard(future)

    async def send(self, message: dict) -> None:
        await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def error(self, message: str) -> None:
        await self.send({"type": "error", "message": message})

    async def send_frame(self, frame: dict | None = None) -> None:
        """Send a frame: the one given, or the current session's."""
        if frame is None:
            if self.session is None:
                return
            frame = await self.call(self.session.frame, self.net)
        self.drawn.clear()
        await self.send({"type": "frame", "playing": self.playing.is_set(),
                         "rate": round(self.rate), **frame})

    def stop(self) -> None:
        """The tab closed: nothing more of this run is computed (calls not started are
        dropped; a replay under way stops at its next chunk)."""
        self.playing.clear()
        self.closed.set()
        for future in self.pending:
            future.cancel()

    # ---- the client's messages ------------------------------------------------------

    async def handle(self, msg) -> None:
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "configure":
            await self.configure(msg)
            return
        if kind == "drawn":  # the page drew the last frame: it may have the next
            self.drawn.set()
            return
        if kind == "speed":
            if msg.get("steps_per_s") not in SPEEDS:
                raise SettingsError(f"speed must be one of {SPEEDS} steps/s (0: full speed)")
            self.speed = msg["steps_per_s"]
            return
        if self.session is None:
            raise SettingsError("no run yet: choose settings first")
        if kind == "play":
            if self.session.steps_left == 0:
                raise SettingsError(AT_CAP)
            self.playing.set()
        elif kind == "pause":
            playing = self.playing.is_set()
            self.playing.clear()
            if playing:  # the playing stretch ends with a frame of its own
                return
        elif kind == "step":
            self.playing.clear()
            await self.call(self.session.advance, 1)
        elif kind == "reset":
            self.playing.clear()
            await self.call(self.session.reset)
        elif kind == "select":
            self.net = self.session.check_net(msg.get("net"))
        elif kind == "edit":
            await self.call(self.session.edit, msg.get("op") or [])
            # the page keeps it for its link, at the step it was applied (a playing run
            # is further along than the page's last frame)
            await self.send({"type": "edited", "edit": self.session.edits[-1]})
        elif kind == "export":
            name, data = await self.call(self.session.export, msg.get("what"), self.net)
            await self.send({"type": "file", "name": name,
                             "data": base64.b64encode(data).decode("ascii")})
            return
        else:
            raise SettingsError(f"unknown message {kind!r}")
        await self.send_frame()

    async def configure(self, msg: dict) -> None:
        """A new run from settings (and, from a shared link, a step and edits to replay)."""
        self.playing.clear()
        settings = Settings.from_json(msg.get("settings"))

        loop = asyncio.get_running_loop()

        def told(done: int, total: int) -> None:  # from the worker: the page shows it
            if not self.closed.is_set():
                asyncio.run_coroutine_threadsafe(self.send(
                    {"type": "status", "message": f"replaying the link: step {done:,} of "
                     f"{total:,}"}), loop)

        def build():
            from bottlenet.serve.engine import Session  # JAX: only once a run is asked for

            if self.closed.is_set():
                return None
            session = Session(settings)
            session.replay(msg.get("step", 0), msg.get("edits", []), self.closed.is_set,
                           told)
            return session

        from bottlenet.serve.engine import Cancelled

        self.session = None
        try:
            session = await self.call(build)
        except Cancelled:
            return
        if session is None:  # the tab closed before its turn came
            return
        self.session = session
        self.net = session.check_net(msg.get("net", 0))
        await self.send({"type": "ready", "settings": asdict(settings),
                         "edits": session.edits, **await self.call(session.describe)})
        await self.send_frame()

    # ---- playing --------------------------------------------------------------------

    async def play(self) -> None:
        """While playing: train a frame's steps, send the frame, at the chosen speed; at
        most PLAYING_AT_ONCE runs at a time (the others wait, and say so)."""
        while True:
            await self.playing.wait()
            if self.slots.locked():
                await self.send({"type": "status", "message": (
                    f"waiting: {PLAYING_AT_ONCE} other runs are playing; this one starts "
                    "when one of them pauses or closes")})
            async with self.slots:
                try:
                    await self._stretch()
                except Exception as e:  # never a dead loop behind a page that says "playing"
                    log.exception("playground: training failed")
                    self.playing.clear()
                    await self.error(f"training stopped: {e}")

    def _steps(self) -> int:
        return self.fast_steps if self.speed == 0 else max(1, round(self.speed * FRAME_S))

    async def _stretch(self) -> None:
        """Frames until paused or reconfigured. At full speed the next frame's steps start
        training in the worker before this frame is encoded and sent (XLA runs without
        the GIL), so streaming costs little training time."""
        session, ahead, shown_stopped = self.session, None, False
        while self.playing.is_set() and session is not None and session is self.session:
            start = time.perf_counter()
            if ahead is None:
                ahead = asyncio.ensure_future(self.call(_timed_advance, session, self._steps()))
            (steps, taken, trained), ahead = await ahead, None
            if self.speed == 0 and taken == steps:  # full speed: FRAME_S of training each
                change = min(2.0, max(0.5, FRAME_S / max(trained, 1e-6)))
                self.fast_steps = max(1, min(100_000, round(steps * change)))
            if taken < steps:
                self.playing.clear()
            # a frame only for a page that has drawn the last one (or when this stretch ends)
            show = self.drawn.is_set() or not self.playing.is_set()
            frame = await self.call(session.frame, self.net) if show else None
            if self.playing.is_set() and self.speed == 0 and session is self.session:
                ahead = asyncio.ensure_future(self.call(_timed_advance, session, self._steps()))
            if session is not self.session:
                break
            if frame is not None:
                await self.send_frame(frame)
                shown_stopped = not self.playing.is_set()
            if taken < steps:
                await self.error(AT_CAP)
            if self.speed:
                await asyncio.sleep(max(0.0, start + taken / self.speed - time.perf_counter()))
            self.rate = taken / max(time.perf_counter() - start, 1e-9)
        if ahead is not None:  # paused while the next frame trained: show where it got
            await ahead
            shown_stopped = False
        if not shown_stopped and session is not None and session is self.session:
            await self.send_frame()  # where it stopped, marked as paused


def _timed_advance(session, steps: int) -> tuple[int, int, float]:
    """Steps asked for, steps taken (fewer at the cap) and the seconds they took."""
    start = time.perf_counter()
    return steps, session.advance(steps), time.perf_counter() - start


async def playground(ws: WebSocket) -> None:
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host")):
        await ws.close(code=1008)  # policy violation: another site's page
        return
    await ws.accept()
    state = ws.app.state
    if not hasattr(state, "slots"):  # made in the server's event loop, on first use
        state.slots = asyncio.Semaphore(PLAYING_AT_ONCE)
    run = Run(ws, state.slots)
    messages: asyncio.Queue[str] = asyncio.Queue()
    player = asyncio.create_task(run.play())
    handler = asyncio.create_task(_handle_all(run, messages))
    try:
        # Received apart from handling, so a close is heard (and the run's work
        # cancelled) even while a message's work, a link's replay say, is under way;
        # messages are still handled one at a time, in order.
        while True:
            await messages.put(await ws.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        run.stop()
        player.cancel()
        handler.cancel()


async def _handle_all(run: Run, messages: asyncio.Queue) -> None:
    while True:
        text = await messages.get()
        try:
            if len(text) > MESSAGE_MAX:
                raise SettingsError(f"a message may have at most {MESSAGE_MAX:,} characters")
            try:
                msg = json.loads(text)
            except json.JSONDecodeError:
                raise SettingsError("a message must be JSON") from None
            await run.handle(msg)
        except BottlenetError as e:  # a bad setting or table: said in the page
            await run.error(str(e))
        except Exception as e:  # a bug: said in the page and logged, the tab lives on
            log.exception("playground: a message failed")
            await run.error(f"internal error ({type(e).__name__}): {e}")


async def index(request):
    return FileResponse(STATIC / "index.html")


async def config(request):
    return JSONResponse(page_config())


def create_app(allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS) -> Starlette:
    """The app; `allowed_hosts` None serves any Host name (bound beyond loopback)."""
    middleware = [] if allowed_hosts is None else [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    return Starlette(routes=[Route("/", index), Route("/api/config", config),
                             WebSocketRoute("/ws", playground),
                             Mount("/static", StaticFiles(directory=STATIC), name="static")],
                     middleware=middleware)
