"""A lossless compressor built on the article's network: hashed byte contexts -> k tanh
units -> softmax over 256 bytes, learning online, driving a range coder."""

from bottlenet.compress.codec import (
    Result,
    Streamed,
    compress,
    compress_stream,
    decompress,
    decompress_stream,
    fingerprint,
)
from bottlenet.compress.container import ArchiveError
from bottlenet.compress.model import WORD, Settings, format_orders, parse_orders

__all__ = ["WORD", "ArchiveError", "Result", "Settings", "Streamed", "compress",
           "compress_stream", "decompress", "decompress_stream", "fingerprint",
           "format_orders", "parse_orders"]
