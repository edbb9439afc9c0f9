"""CSV files that a spreadsheet opens safely.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some programs,
a tab or a carriage return) as a formula: a subject name such as ``=HYPERLINK("http://...")`` in
a summary would run when an examiner opens the file (CSV or formula injection). Every CSV the
product writes goes through :func:`csv_text`, which neutralises such cells with a leading
apostrophe, as OWASP recommends; numbers are written as numbers, so ``-0.5`` stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` unchanged when it is a number or harmless text; text that a spreadsheet would
    take for a formula gets a leading apostrophe."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Sequence[Any] | Mapping[str, Any]], *, fieldnames: Sequence[str] | None = None) -> str:
    """The CSV text of ``rows`` (sequences, or mappings with ``fieldnames`` as the header), one
    ``\\n`` per line, every cell passed through :func:`safe_cell`."""
    buffer = io.StringIO()
    if fieldnames is not None:
        writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: safe_cell(value) for key, value in dict(row).items()})  # type: ignore[arg-type]
    else:
        plain = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            plain.writerow([safe_cell(value) for value in row])  # type: ignore[union-attr]
    return buffer.getvalue()
