"""The report's PDF after layout: the case record attached as an embedded file, and the
signature fields of the sign-off section.

:func:`finish_pdf` rewrites the laid-out PDF once (one revision): it attaches the record
(:mod:`~crossid_desktop.cases.report_record`) as an associated file of the document, named
``case-record.json``, whose description carries its SHA-256, and adds an empty signature
field for each role where the sign-off section drew its box, so that the examiner, a reviewer
or any PDF reader can sign there later. :func:`embedded_record` reads the record back.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crossid_desktop.cases.report_record import EMBEDDED_NAME, record_sha256
from crossid_desktop.cases.signing import FIELD_NAMES
from crossid_desktop.errors import CaseError

#: the embedded file's description; the SHA-256 is read back from it
RECORD_DESCRIPTION = "CrossID case record of case {case} (JSON), SHA-256 {sha256}"
_SHA256_IN_DESCRIPTION = re.compile(r"SHA-256 ([0-9a-f]{64})\b")

#: a signature box: (page index from 0, (x1, y1, x2, y2) in points from the page's lower left)
Box = tuple[int, tuple[float, float, float, float]]


def finish_pdf(laid_out: bytes, *, case_number: str, record: bytes, boxes: Mapping[str, Box]) -> bytes:
    """The laid-out report with the record attached and the empty signature fields added."""
    from pyhanko.pdf_utils import embed, generic  # pyHanko loads only when a report is written
    from pyhanko.pdf_utils.reader import PdfFileReader  # pyHanko loads only when a report is written
    from pyhanko.pdf_utils.writer import copy_into_new_writer  # pyHanko loads only when a report is written
    from pyhanko.sign import fields  # pyHanko loads only when a report is written

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(laid_out)))
    stream = embed.EmbeddedFileObject.from_file_data(writer, data=record, mime_type="application/json", params=embed.EmbeddedFileParams())
    description = RECORD_DESCRIPTION.format(case=case_number, sha256=record_sha256(record))
    spec = embed.FileSpec(file_spec_string=EMBEDDED_NAME, file_name=EMBEDDED_NAME, embedded_data=stream, description=description,
                          af_relationship=generic.pdf_name("/Data"))
    embed.embed_file(writer, spec)
    for role, (page, box) in boxes.items():
        fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=FIELD_NAMES[role], on_page=page, box=tuple(round(v, 2) for v in box)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read_report(path: str | Path) -> tuple[Path, bytes]:
    """A report's absolute path and its bytes; :class:`CaseError` when it cannot be read."""
    pdf_path = Path(path).expanduser().absolute()
    try:
        return pdf_path, pdf_path.read_bytes()
    except OSError as error:
        raise CaseError(f"The report {pdf_path} cannot be read ({error.strerror or error}).") from error


def embedded_record(pdf: bytes) -> tuple[bytes, str]:
    """The attached record and the SHA-256 its description states; :class:`CaseError` when
    the PDF cannot be read or carries no record."""
    from pyhanko.pdf_utils.misc import PdfError  # pyHanko loads only when a report is checked
    from pyhanko.pdf_utils.reader import PdfFileReader  # pyHanko loads only when a report is checked

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        names = _embedded_files(reader.root)
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise CaseError(f"The file is not a readable PDF ({error}).") from error
    for name, spec in names:
        if name == EMBEDDED_NAME:
            spec = spec.get_object()
            data = spec["/EF"]["/F"].get_object().data
            match = _SHA256_IN_DESCRIPTION.search(str(spec.get("/Desc", "")))
            return data, match.group(1) if match else ""
    raise CaseError(f"The PDF carries no case record ({EMBEDDED_NAME}); it is not a CrossID report of this version.")


def _embedded_files(root: Any) -> list[tuple[str, Any]]:
    """(name, file spec) pairs of the catalogue's embedded-files name tree (flat or one level of kids)."""
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return []
    tree = root["/Names"]["/EmbeddedFiles"].get_object()
    leaves = [kid.get_object() for kid in tree["/Kids"].get_object()] if "/Kids" in tree else [tree]
    pairs = []
    for leaf in leaves:
        names = leaf.get("/Names")
        names = names.get_object() if names is not None else []
        pairs += [(str(names[i]), names[i + 1]) for i in range(0, len(names) - 1, 2)]
    return pairs
