"""Decompress a response body in bounded steps, so the size cap holds for what it decompresses to.

A few hundred bytes of gzip inside gzip can expand to gigabytes. Each decoder here hands out at
most :data:`STEP` bytes at a time and keeps the rest of its input for later, and the stages of a
nested encoding (``Content-Encoding: gzip, gzip``) pass each step on at once: memory stays at a
few steps per stage whatever the body expands to, and the reader stops as soon as the total passes
its cap. gzip and deflate are read; other encodings are refused (and never asked for).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

STEP = 64 * 1024
ACCEPTED = "gzip, deflate"  # the Accept-Encoding newsbot sends: only what it can bound


class DecodeError(Exception):
    """The body is not in the encoding it claims, or the encoding is not one newsbot reads."""


class _Zlib:
    """gzip (``wbits`` 31), zlib-wrapped deflate (15) or raw deflate (-15), in bounded steps."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.wbits = 31 if name in ("gzip", "x-gzip") else 15
        self.started = False
        self.z = zlib.decompressobj(self.wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self.z.decompress(data, STEP)
            except zlib.error as error:
                if self.name == "deflate" and not self.started and self.wbits == 15:
                    self.wbits, self.z = (
                        -15,
                        zlib.decompressobj(-15),
                    )  # servers send raw deflate too
                    continue
                raise DecodeError(f"the body is not valid {self.name} ({error})") from None
            self.started = True
            data = self.z.unconsumed_tail
            if self.z.eof and self.z.unused_data:
                data = self.z.unused_data
                if self.wbits == 31 and data.startswith(b"\x1f\x8b"):
                    self.z = zlib.decompressobj(31)  # gzip allows several members in a row
                else:
                    data = b""  # padding after the end of the stream
            if out:
                yield out
            if not data and len(out) < STEP:
                return

    def flush(self) -> bytes:
        return self.z.flush()


def decoders(content_encoding: str) -> list[_Zlib]:
    """The decoders for a ``Content-Encoding`` header, in the order they must run (the last
    encoding applied comes off first); raises :class:`DecodeError` for one newsbot can't read."""
    names = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    stages = []
    for name in reversed(names):
        if name == "identity":
            continue
        if name not in ("gzip", "x-gzip", "deflate"):
            raise DecodeError(f"the page is sent with {name} compression, which newsbot can't read")
        stages.append(_Zlib(name))
    return stages


def inflate(stages: Sequence[_Zlib], data: bytes) -> Iterator[bytes]:
    """``data`` (raw bytes off the wire) through every stage, a step at a time."""
    if not stages:
        if data:
            yield data
        return
    for piece in stages[0].feed(data):
        yield from inflate(stages[1:], piece)


def finish(stages: Sequence[_Zlib]) -> Iterator[bytes]:
    """What the stages still hold once the body has ended."""
    for i, stage in enumerate(stages):
        yield from inflate(stages[i + 1 :], stage.flush())
