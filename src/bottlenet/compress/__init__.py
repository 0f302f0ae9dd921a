"""A lossless compressor built on the article's network: hashed byte contexts -> k tanh
units -> softmax over 256 bytes, learning online, driving a range coder.

Its loops run in compiled kernels (kernels.pyx, built by setup.py when a C compiler is
there). Importing this package does not need them: the names below load on first use, and
`kernels_built()` tells whether they can (the lab's other rooms never need them).
"""

from importlib import import_module

# the kernels are missing: how to get them (the CLI prints it after the command's name)
KERNELS_MISSING = (
    "needs the compressor's compiled kernels, which were not built when bottlenet was "
    "installed (no working C compiler then): install a C compiler and Python's headers "
    "(Debian/Ubuntu: apt-get install gcc python3-dev; macOS: xcode-select --install), then "
    "reinstall bottlenet (uv sync --reinstall-package bottlenet, or pip install "
    "--force-reinstall --no-deps .)")

_WHERE = {
    "Report": "codec", "Result": "codec", "compress": "codec", "compress_stream": "codec",
    "decompress": "codec", "decompress_stream": "codec", "fingerprint": "codec",
    "ArchiveError": "container",
    "LEVELS": "model", "WORD": "model", "Settings": "model", "format_orders": "model",
    "parse_orders": "model",
}
__all__ = ["KERNELS_MISSING", "kernels_built", *sorted(_WHERE)]


def kernels_built() -> bool:
    """Whether the compiled kernels can be imported here."""
    try:
        import_module(f"{__name__}.kernels")
    except ImportError:
        return False
    return True


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
