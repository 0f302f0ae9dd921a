"""`bottlenet serve`: the playground in the browser (the optional extra `serve`)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

import typer

from bottlenet.cli.console import command, command_group, err, out
from bottlenet.errors import BottlenetError

app = command_group()


class ServeError(BottlenetError):
    """The playground cannot start: its extra is missing or the address is taken."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts, so a taken port is one clear
    line and port 0 gets a free port whose address can be printed."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # connections wait from now on, while the server starts
    except OSError as e:
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


@command(app)
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on. Anything but loopback "
                             "lets other machines train on this one (a warning says so)."),
    port: int = typer.Option(8765, min=0, max=65535,
                             help="Port to listen on; 0 picks a free one."),
) -> None:
    """Start the playground: a page where you pick n and k, press play, and watch the
    hidden units fold the symbols apart; edit weights by hand, drag codes in the hidden
    space, share a link to the exact state, export the population as a model file.

    Prints the address and opens nothing; stop it with Ctrl-C. Needs the extra `serve`
    (`uv sync --extra serve`). Everything runs on this machine: the page loads nothing
    from elsewhere.

        bottlenet serve
        bottlenet serve --port 9000
    """
    try:
        import uvicorn

        from bottlenet.serve.app import LOOPBACK_HOSTS, create_app
    except ImportError:
        raise ServeError("bottlenet serve needs its extra: `uv sync --extra serve` (Starlette, "
                         "uvicorn and websockets)") from None
    local = _loopback(host)
    sock = _listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}"
    if not local:
        err.print(f"warning: listening on {host}: anyone who can reach this machine can use "
                  "the playground and its CPU/GPU", markup=False)
    out.print(f"bottlenet playground: {url}  (Ctrl-C stops)", markup=False, highlight=False)
    out.file.flush()  # the address, at once, also when the output is a pipe
    # Bound to loopback, only loopback Host names are served (no DNS rebinding).
    hosts = (*LOOPBACK_HOSTS, host) if local else None
    server = uvicorn.Server(uvicorn.Config(create_app(hosts), log_level="warning",
                                           ws="auto"))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a quiet stop
        server.run(sockets=[sock])
