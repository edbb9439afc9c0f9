"""A text progress bar for the terminal, usable as a ``progress`` callback."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from crossid_desktop.cli.terminal import visible


class TextProgress:
    """Draws ``[#####.....]  50/100  message`` on stderr, at most every ``interval`` seconds.

    On a terminal the line is redrawn in place; otherwise a line is written per update so that
    logs stay readable. Call :meth:`close` (or use as a context manager) to end the line.
    """

    def __init__(self, label: str = "", *, stream: TextIO | None = None, width: int = 30, interval: float = 0.2) -> None:
        self._label = label
        self._stream = stream if stream is not None else sys.stderr
        self._width = width
        self._interval = interval
        self._last = 0.0
        self._drawn = False
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        if not finished and now - self._last < self._interval:
            return
        self._last = now
        fraction = done / total if total > 0 else 0.0
        filled = int(round(fraction * self._width))
        bar = "#" * filled + "." * (self._width - filled)
        line = f"{self._label} [{bar}] {done}/{total} {message}".rstrip()
        line = visible(line)  # the message may carry a file name
        if self._tty:
            raw = getattr(self._stream, "raw_stream", self._stream)  # the redraw's own carriage return stays one
            raw.write("\r" + line[:200].ljust(80))
        elif not self._drawn or finished or message:
            self._stream.write(line + "\n")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn and self._tty:
            self._stream.write("\n")
            self._stream.flush()
        self._drawn = False

    def __enter__(self) -> TextProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
