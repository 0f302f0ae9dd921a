"""The playground's server, through Starlette's test client: the page and its settings,
caps and bad tables answered in the page, the Origin and Host checks, a run trained to
solved, edits, links that replay a state, exports that `bottlenet show` reads, and a
closed tab that stops its run. (The page itself, in a real browser: test_playground.py.)"""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
import threading
import time

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from bottlenet import modelfile
from bottlenet.cli import app as cli
from bottlenet.serve.app import STATIC, create_app, origin_allowed
from bottlenet.serve.settings import Settings, SettingsError

SMALL = {"symbols": 5, "population": 4}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(("testserver",))) as c:
        yield c


def receive(ws, kind: str, limit: int = 200) -> dict:
    """The next message of `kind`; errors of another kind fail the test."""
    for _ in range(limit):
        msg = json.loads(ws.receive_text())
        if msg["type"] == kind:
            return msg
        assert msg["type"] != "error", msg["message"]
    raise AssertionError(f"no {kind} message")


def configure(ws, **settings) -> dict:
    ws.send_text(json.dumps({"type": "configure", "settings": {**SMALL, **settings}}))
    ready = receive(ws, "ready")
    return ready, receive(ws, "frame")


def test_the_page_and_its_config(client):
    page = client.get("/")
    assert page.status_code == 200 and "playground.js" in page.text
    config = client.get("/api/config").json()
    assert config["caps"]["hidden"] == 8 and len(config["colours"]["scale"]) == 256
    assert config["defaults"] == json.loads(json.dumps(Settings().__dict__))
    for name in ("playground.js", "playground.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_the_page_loads_nothing_from_elsewhere():
    for path in STATIC.iterdir():
        text = path.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?https?:|"""
                             r"""fetch\(\s*["']https?:|import\s.*https?:""", text), path.name


def test_foreign_host_names_are_refused(client):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    (None, "127.0.0.1:8765", True),
    ("http://127.0.0.1:8765", "127.0.0.1:8765", True),
    ("http://evil.example", "127.0.0.1:8765", False),
    ("http://127.0.0.1:9999", "127.0.0.1:8765", False),
    ("http://127.0.0.1:8765", None, False),
])
def test_origin_rule(origin, host, allowed):
    assert origin_allowed(origin, host) is allowed


def test_another_sites_page_cannot_connect(client):
    with pytest.raises(WebSocketDisconnect) as e, client.websocket_connect(
            "/ws", headers={"origin": "http://evil.example"}) as ws:
        ws.receive_text()
    assert e.value.code == 1008


@pytest.mark.parametrize(("settings", "message"), [
    ({"symbols": 201}, "symbols n must be in 2..200"),
    ({"hidden": 9}, "hidden units k must be in 0..8"),
    ({"population": 257}, "population must be in 1..256"),
    ({"lr": -1}, "learning rate must be in (0, 10]"),
    ({"lr": "fast"}, "learning rate must be a number"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"colour": "red"}, "unknown setting 'colour'"),
    ({"task": "table", "table": ""}, "paste a table of pairs first"),
    ({"task": "table", "table": "a,b\nc"}, "pasted table: every row must be input,output"),
    ({"task": "table", "table": '{"pairs": 3}'}, 'expected an object with a "pairs" list'),
    ({"task": "table", "table": "x" * 20_001}, "at most 20,000 characters"),
    ({"task": "table", "table": "\n".join(f"a{i},b{i}" for i in range(201))},
     "the playground takes at most 200"),
])
def test_settings_beyond_the_caps_are_said_in_the_page(client, settings, message):
    with client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "configure", "settings": {**SMALL, **settings}}))
        msg = json.loads(ws.receive_text())
        assert msg["type"] == "error" and message in msg["message"], msg
        ws.send_text("not json")
        assert "must be JSON" in json.loads(ws.receive_text())["message"]


def test_a_pasted_table_trains_like_the_same_file(client):
    with client.websocket_connect("/ws") as ws:
        ready, frame = configure(ws, task="table", table="input,output\nH,E\nE,L\nL,O\nO,H\n")
        assert ready["task"]["in_names"] == ["H", "E", "L", "O"]
        assert ready["task"]["n_out"] == 4 and frame["step"] == 0


def test_a_run_trains_shift5_to_solved(client):
    with client.websocket_connect("/ws") as ws:
        _, frame = configure(ws)
        assert frame["population"]["solved"] == 0
        ws.send_text(json.dumps({"type": "play"}))
        for _ in range(500):
            frame = receive(ws, "frame")
            if frame["population"]["solved"] == 4:
                break
        assert frame["population"]["solved"] == 4 and frame["playing"]
        assert frame["net"]["wins"][:4] == [1, 2, 3, 4]  # input i fires output i+1
        ws.send_text(json.dumps({"type": "pause"}))
        while frame["playing"]:  # frames already on their way, then the pause
            frame = receive(ws, "frame")
        ws.send_text(json.dumps({"type": "step"}))
        after = receive(ws, "frame")
        while after["step"] == frame["step"]:
            after = receive(ws, "frame")
        assert after["step"] == frame["step"] + 1 and not after["playing"]


def test_edits_take_effect_and_a_link_replays_them(client):
    with client.websocket_connect("/ws") as ws:
        configure(ws)
        ws.send_text(json.dumps({"type": "speed", "steps_per_s": 0}))
        for _ in range(3):
            ws.send_text(json.dumps({"type": "step"}))
            receive(ws, "frame")
        ops = [["w", 1, 0, 2, 1, 1.5], ["b", 1, 1, 3, -0.25], ["code", 1, 0, [0.5, -0.5]]]
        for op in ops:
            ws.send_text(json.dumps({"type": "edit", "op": op}))
            frame = receive(ws, "frame")
        ws.send_text(json.dumps({"type": "select", "net": 1}))
        frame = receive(ws, "frame")
        layers = frame["net"]["layers"]
        assert layers[1]["b"][3] == -0.25
        assert frame["net"]["codes"][0] == pytest.approx([0.5, -0.5], abs=1e-3)
        ws.send_text(json.dumps({"type": "step"}))
        live = receive(ws, "frame")
        ws.send_text(json.dumps({"type": "edit", "op": ["w", 1, 5, 0, 0, 1.0]}))
        assert "layer must be in 0..1" in receive(ws, "error")["message"]
    with client.websocket_connect("/ws") as ws:  # the link: settings, step and edits
        ws.send_text(json.dumps({"type": "configure", "settings": SMALL, "net": 1,
                                 "step": live["step"],
                                 "edits": [[3, *op] for op in ops]}))
        receive(ws, "ready")
        again = receive(ws, "frame")
    assert again["net"]["layers"] == live["net"]["layers"] and again["step"] == live["step"]


def test_export_gives_a_model_file_that_show_reads(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        configure(ws)
        ws.send_text(json.dumps({"type": "export", "what": "model"}))
        file = receive(ws, "file")
        ws.send_text(json.dumps({"type": "export", "what": "diagram.svg"}))
        svg = receive(ws, "file")
        ws.send_text(json.dumps({"type": "export", "what": "../../etc/passwd"}))
        assert "cannot export" in receive(ws, "error")["message"]
    path = tmp_path / file["name"]
    path.write_bytes(base64.b64decode(file["data"]))
    pop = modelfile.load(path)
    assert pop.size == 4 and pop.spec.hidden == (2,) and pop.task.name == "shift5"
    assert CliRunner().invoke(cli, ["show", str(path)]).exit_code == 0
    assert base64.b64decode(svg["data"]).startswith(b"<?xml")


def run_threads() -> int:
    return sum(t.name.startswith("bottlenet-run") for t in threading.enumerate())


def test_a_closed_tab_stops_its_run(client):
    before = run_threads()
    with client.websocket_connect("/ws") as ws:
        configure(ws)
        ws.send_text(json.dumps({"type": "play"}))
        receive(ws, "frame")
        assert run_threads() == before + 1
    deadline = time.time() + 10
    while run_threads() > before and time.time() < deadline:
        time.sleep(0.05)
    assert run_threads() == before


def test_settings_unit():
    assert Settings.from_json({"hidden": 0}).hidden == 0
    with pytest.raises(SettingsError, match="settings must be an object"):
        Settings.from_json([1])
    with pytest.raises(SettingsError, match="bias must be true or false"):
        Settings.from_json({"bias": 1})


def test_engine_matches_the_trainer():
    """The playground trains as `bottlenet train --stop never` does: same seeds, same steps."""
    from bottlenet import tasks, trainer
    from bottlenet.serve.engine import Session

    session = Session(Settings.from_json(SMALL))
    session.advance(120)
    pop = trainer.train(tasks.shift(5), steps=120, seeds=4, stop="never", chunk=120)
    for i in range(4):
        for mine, theirs in zip(session.network(i), pop.network(i), strict=True):
            for k in theirs:
                np.testing.assert_allclose(mine[k], theirs[k], rtol=1e-5, atol=1e-6)


def test_serve_command_errors_are_one_line(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert r.exit_code == 2 and "cannot listen on 127.0.0.1" in r.stderr
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    r = CliRunner().invoke(cli, ["serve"])
    assert r.exit_code == 2 and "uv sync --extra serve" in r.stderr
