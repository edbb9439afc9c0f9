"""The self-test record: what was checked, on which machine, with which software, and the
outcome of every check, as JSON (for a laboratory's systems) and as PDF (to print, sign and
file with the installation's qualification).

Both files are named after the start time: ``crossid-selftest-<YYYYMMDDTHHMMSSZ>.json`` and
``.pdf``, written atomically into the folder given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossid_desktop.cases.fonts import markup
from crossid_desktop.cases.report_layout import MARGIN_MM, build_atomically
from crossid_desktop.cases.report_sections import data_table, para, styles
from crossid_desktop.errors import CrossIDError
from crossid_desktop.paths import write_text_atomic
from crossid_desktop.selftest.checks import CheckResult

FORMAT = "crossid-selftest-record"
FORMAT_VERSION = 1
PURPOSE = (
    "Installation and operational check of CrossID Desktop on this machine: the bundled models, fonts and "
    "resources against the SHA-256 digests of the installation's manifest, the runtime pieces, and a reference "
    "set of simulated people enrolled, searched, recorded in a case, audited and reported, each outcome compared "
    "with the one stored with the set."
)


@dataclass(frozen=True)
class SelfTestRecord:
    """One run of the self-test."""

    started: str  # ISO 8601, UTC
    finished: str
    software: str
    installation: str  # "bundle" or "python environment"
    executable: str
    machine: Mapping[str, Any]
    compute: Mapping[str, Any]
    versions: Mapping[str, Any]
    parts: tuple[str, ...]
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when there were checks and every one passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]

    def stem(self) -> str:
        compact = self.started.replace("-", "").replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
        return f"crossid-selftest-{compact}"

    def verdict(self) -> str:
        """One line: passed, or how many checks failed."""
        if self.passed:
            return f"PASSED: all {len(self.checks)} checks passed."
        return f"FAILED: {len(self.failures())} of {len(self.checks)} checks failed."

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "passed": self.passed,
            "verdict": self.verdict(),
            "started": self.started,
            "finished": self.finished,
            "software": {"name": "CrossID Desktop", "version": self.software, "installation": self.installation, "executable": self.executable},
            "machine": dict(self.machine),
            "compute": dict(self.compute),
            "versions": dict(self.versions),
            "parts": list(self.parts),
            "checks": [check.to_dict() for check in self.checks],
        }


def write_record(record: SelfTestRecord, folder: Path) -> tuple[Path, Path]:
    """Write the JSON and the PDF record into ``folder`` (made when missing); returns both paths."""
    folder = Path(folder).expanduser().absolute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CrossIDError(f"The folder {folder} for the self-test record cannot be made ({error.strerror or error}).") from error
    json_path, pdf_path = folder / f"{record.stem()}.json", folder / f"{record.stem()}.pdf"
    try:
        write_text_atomic(json_path, json.dumps(record.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    except OSError as error:
        raise CrossIDError(f"The self-test record {json_path} cannot be written ({error.strerror or error}).") from error
    write_pdf(record, pdf_path)
    return json_path, pdf_path


def write_pdf(record: SelfTestRecord, out: Path) -> int:
    """The PDF record; returns its page count."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm

    s = styles()
    width = A4[0] - 2 * MARGIN_MM * mm
    colour = "#1d6b2f" if record.passed else "#b03030"
    verdict = ParagraphStyle("verdict", parent=s["lead"], borderColor=colors.HexColor(colour), backColor=colors.HexColor("#eef7ef" if record.passed else "#fbeeee"))
    story: list[Any] = [para("CrossID Desktop installation self-test", s["title"]), para(markup(PURPOSE), s["body"]), para(markup(record.verdict()), verdict)]
    story += [para(markup(f"{c.name}: {c.summary}"), s["body"]) for c in record.failures()]
    device = record.compute.get("cuda_device") or ("Apple MPS" if record.compute.get("mps_available") else "CPU")
    machine = record.machine
    story += [para("Machine and software", s["h2"]), _pairs([
        ("Host", machine.get("host")), ("Operating system", machine.get("os")), ("Processor", f"{machine.get('processor')} ({machine.get('cores')} cores)"),
        ("Memory", f"{machine.get('memory_gib')} GiB"), ("Compute device", device),
        ("Software", f"CrossID Desktop {record.software}"), ("Installation", f"{record.installation}: {record.executable}"),
        ("Started", record.started), ("Finished", record.finished), ("Parts", ", ".join(record.parts)),
    ], s, width)]
    rows = [[para(h, s["cell"]) for h in ("#", "Part", "Check", "Result", "Outcome")]]
    for number, check in enumerate(record.checks, start=1):
        result = f'<font color="{"#1d6b2f" if check.passed else "#b03030"}"><b>{"PASS" if check.passed else "FAIL"}</b></font>'
        rows.append([para(str(number), s["cell"]), para(check.part, s["cell"]), para(markup(check.name), s["cell"]), para(result, s["cell"]), para(markup(check.summary), s["cell"])])
    story += [para("Checks", s["h2"]), data_table(rows, [18, 60, 120, 36, width - 234], header=True, zebra=True)]
    story += [para("Runtime pieces", s["h2"]), _pairs([(k, v if v is not None else "not installed") for k, v in record.versions.items()], s, width)]
    story += _searches(record, s, width)
    story += [para("Sign-off", s["h2"]), para("Checked by (name, signature): ______________________________   Date: ______________", s["body"])]
    footer = f"{record.verdict()} Self-test started {record.started}."
    metadata = {"title": "CrossID Desktop installation self-test", "author": "CrossID Desktop", "subject": record.verdict(), "keywords": "CrossID; self-test; installation qualification"}
    return build_atomically(story, out, header_left="CrossID Desktop self-test", header_right=record.started[:10], footer=footer, metadata=metadata)


def _pairs(pairs: list[tuple[str, Any]], s: dict[str, Any], width: float) -> Any:
    rows = [[para(f"<b>{markup(k)}</b>", s["cell"]), para(markup(v), s["cell"])] for k, v in pairs]
    return data_table(rows, [120, width - 120])


def _searches(record: SelfTestRecord, s: dict[str, Any], width: float) -> list[Any]:
    """Per reference search: the candidates found beside the expected ones."""
    out: list[Any] = []
    for check in record.checks:
        candidates = check.details.get("candidates")
        if not candidates:
            continue
        expected = {e["subject_id"]: e["distance"] for e in check.details.get("expected", [])}
        rows = [[para(h, s["cell"]) for h in ("Rank", "Subject", "Distance", "Confidence", "Expected distance")]]
        for c in candidates:
            low_high = expected.get(c["subject_id"])
            mark = " (true identity)" if c["subject_id"] == check.details.get("true_subject_id") else ""
            rows.append([para(str(c["rank"]), s["cell"]), para(markup(c["subject_id"] + mark), s["cell"]), para(f"{c['distance']:.4f}", s["cell"]),
                         para(f"{c['confidence']:.4f}", s["cell"]), para(f"{low_high[0]:.4f} to {low_high[1]:.4f}" if low_high else "", s["cell"])])
        out += [para(markup(check.name), s["h3"]), para(markup(f"Matcher {check.details.get('matcher')} ({str(check.details.get('fingerprint'))[:16]})"), s["small"]),
                data_table(rows, [34, 140, 70, 70, width - 314], header=True)]
    return [para("Reference searches", s["h2"]), *out] if out else []
