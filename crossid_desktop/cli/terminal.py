"""What the ``crossid`` command writes to a terminal: text with its control characters made
visible. A subject name, a note or a file name may hold ESC sequences, NUL or a carriage return
(typed, pasted or hostile); written raw they would recolour or rewrite the examiner's terminal,
or hide part of a line. Every character of Unicode category Cc (C0 and C1 controls, DEL) except
the newline and the tab is written as an escape such as ``\\x1b`` instead, and so are the
bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which
would show the rest of a line reversed (``\\u202e``)."""

from __future__ import annotations

import re
from typing import TextIO

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every control character but ``\\n`` and ``\\t`` escaped (``\\x00``, ``\\x1b``, ...),
    and the bidirectional overrides too (``\\u202e``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


class VisibleStream:
    """A text stream that writes through :func:`visible`; everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    @property
    def raw_stream(self) -> TextIO:
        """The wrapped stream, for the progress bar's own carriage returns."""
        return self._stream

    def write(self, text: str) -> int:
        self._stream.write(visible(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
