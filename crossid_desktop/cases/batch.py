"""Batch search: every query image in a folder, one case and one report each (disaster victim
identification: many unknowns at once).

For each image the batch searches the gallery, opens a case for it, records the search and
writes its PDF report to ``OUT/reports/``. One bad file is recorded as failed with its reason
and does not stop the batch. After every query the state file ``OUT/batch-state.json`` is
rewritten atomically, keyed by the query's SHA-256, so a rerun (after a crash, a cancel or
new files) skips the queries already done. A case is remembered in the state file as soon as
it is opened, so a query that failed (or was stopped) after its case was opened is finished
in that same case by the rerun: no case is left without its batch item, and reruns open none
twice. At the end the summary is written as
``OUT/summary.csv``, ``OUT/summary.json`` and ``OUT/summary.pdf``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crossid_desktop.cases.audit import now_utc
from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.fonts import markup
from crossid_desktop.cases.report import export_report, report_file_name
from crossid_desktop.cases.report_layout import MARGIN_MM, build_atomically
from crossid_desktop.cases.report_sections import data_table, para, styles
from crossid_desktop.cases.report_strings import LEAD_STATEMENT
from crossid_desktop.errors import Cancelled, CaseError, CrossIDError
from crossid_desktop.imaging.io import load_image, sha256_of_file
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.preprocess import FaceChoice
from crossid_desktop.paths import write_text_atomic
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.search.service import SearchService
from crossid_desktop.spreadsheet import csv_text
from crossid_desktop.workspace import Workspace

STATE_NAME = "batch-state.json"
STATE_VERSION = 1
#: files taken as queries (besides files without a suffix, as DICOM often are)
QUERY_SUFFIXES = frozenset(".jpg .jpeg .png .tif .tiff .bmp .pgm .gif .dcm .dicom".split())
SUMMARY_FIELDS = ("query", "sha256", "status", "case_number", "report", "top_subjects", "top_confidences", "error")


@dataclass(frozen=True)
class BatchItem:
    """The outcome for one query file; ``status`` is ``done``, ``failed`` or ``duplicate``."""

    query: str
    sha256: str
    status: str
    case_number: str = ""
    report: str = ""
    top: tuple[tuple[str, float], ...] = ()  # (subject id, confidence), best first
    error: str = ""


@dataclass(frozen=True)
class BatchSummary:
    items: tuple[BatchItem, ...]
    searched: int  # queries searched in this run (the others were done before)
    skipped: int  # queries skipped because a previous run did them
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)  # "csv", "json", "pdf" -> path

    @property
    def failed(self) -> tuple[BatchItem, ...]:
        return tuple(i for i in self.items if i.status == "failed")


def find_queries(query_dir: Path) -> list[Path]:
    """Query files in a folder (not its sub-folders), sorted by name; hidden files are left out."""
    if not query_dir.is_dir():
        raise CaseError(f"The query folder {query_dir} does not exist or is not a folder.")
    return sorted(p for p in query_dir.iterdir() if p.is_file() and not p.name.startswith(".") and (p.suffix.lower() in QUERY_SUFFIXES or not p.suffix))


def run_batch(
    workspace: Workspace,
    query_dir: str | Path,
    out_dir: str | Path,
    *,
    top_k: int = 10,
    modality: QueryModality | None = None,
    examiner: str = "",
    agency: str = "",
    allow_centre_crop: bool = False,
    service: SearchService | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> BatchSummary:
    """Search every query in ``query_dir``; write reports, state and summaries under ``out_dir``.

    A face photo without a detectable face fails (its error says so) unless
    ``allow_centre_crop`` (then its central square is searched and its report warns); a photo
    with several faces fails: search it alone, choosing the face (``crossid search --face N``).
    """

    if top_k < 1:
        raise CaseError("The number of candidates (top-k) must be at least 1.")
    query_dir, out = Path(query_dir).expanduser().absolute(), Path(out_dir).expanduser().absolute()
    queries = find_queries(query_dir)
    reports = out / "reports"
    try:
        reports.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CaseError(f"The output folder {out} cannot be made ({error.strerror or error}).") from error
    progress = progress or no_progress
    state = _read_state(out / STATE_NAME)
    service = service or SearchService(workspace)
    cases = CaseService(workspace)
    items: list[BatchItem] = []
    searched = skipped = 0
    seen: dict[str, BatchItem] = {}
    for n, path in enumerate(queries):
        check_cancel(cancel, "The batch")
        progress(n, len(queries), path.name)
        try:
            image = load_image(path)
        except CrossIDError as error:
            item = BatchItem(str(path), _sha256_or_empty(path), "failed", error=str(error))
            items.append(item)
            continue
        if image.sha256 in seen:
            first = seen[image.sha256]
            items.append(BatchItem(str(path), image.sha256, "duplicate", first.case_number, first.report, first.top, f"same file as {Path(first.query).name}"))
            continue
        previous = state.get(image.sha256)
        if previous is not None and previous.status == "done":
            item = _moved(previous, path)
            skipped += 1
        else:

            def remember(item: BatchItem, sha256: str = image.sha256) -> None:
                state[sha256] = item
                _write_state(out / STATE_NAME, state)

            item = _search_one(path, image, service, cases, reports, top_k=top_k, modality=modality, examiner=examiner, agency=agency,
                               export=export_report, file_name=report_file_name, choice=FaceChoice(allow_centre_crop=allow_centre_crop), cancel=cancel, previous=previous, remember=remember)
            searched += 1
            remember(item)
        seen[image.sha256] = item
        items.append(item)
    progress(len(queries), len(queries), "writing the summary")
    summary = BatchSummary(tuple(items), searched, skipped, out)
    files = write_summaries(summary, query_dir)
    return BatchSummary(summary.items, searched, skipped, out, files)


def _moved(previous: BatchItem, path: Path) -> BatchItem:
    """A done item of an earlier run, under the file's present path."""
    return BatchItem(str(path), previous.sha256, previous.status, previous.case_number, previous.report, previous.top, previous.error)


def _search_one(path, image, service, cases, reports: Path, *, top_k, modality, examiner, agency, export, file_name, choice, cancel, previous, remember) -> BatchItem:
    """Search one query, open its case, record the search and write the report. A case an
    earlier run opened for this query (``previous``) is finished instead of opening another;
    a new case is ``remember``-ed in the state file at once."""

    number = previous.case_number if previous is not None and previous.case_number and cases.exists(previous.case_number) else ""
    try:
        recorded = cases.get(number).latest_search if number else None
        if recorded is None or image.sha256 not in {q.sha256 for q in recorded.result.queries}:
            result = service.search([image], modality=modality, top_k=top_k, choices=[choice], cancel=cancel)
            if not number:
                number = cases.create_case(title=f"Batch query {path.name}", examiner=examiner, agency=agency, actor=examiner or None).case_number
                remember(BatchItem(str(path), image.sha256, "failed", number, error="stopped before its report was written"))
            recorded = cases.record_search(number, result, actor=examiner or None, matcher_card=service.matchers.card_of(result.matcher_fingerprint))
        report = export(service.workspace, number, reports / file_name(number), actor=examiner or None, cancel=cancel)
    except Cancelled:
        raise
    except CrossIDError as error:
        return BatchItem(str(path), image.sha256, "failed", number, error=str(error))
    except Exception as error:  # a bug must not stop the other queries; its name is kept
        return BatchItem(str(path), image.sha256, "failed", number, error=f"internal error ({type(error).__name__}: {error})")
    top = tuple((c.subject_id, round(c.confidence, 6)) for c in recorded.result.candidates)
    return BatchItem(str(path), image.sha256, "done", number, str(report), top)


def _sha256_or_empty(path: Path) -> str:
    try:
        return sha256_of_file(path)
    except CrossIDError:
        return ""


# ---------------------------------------------------------------------------- state file


def _read_state(path: Path) -> dict[str, BatchItem]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            raise ValueError("unknown version")
        return {sha: BatchItem(**{**item, "top": tuple(tuple(t) for t in item.get("top", ()))}) for sha, item in data["queries"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise CaseError(f"The batch state file {path} is damaged ({error}); remove it to start the batch again.") from error


def _write_state(path: Path, state: dict[str, BatchItem]) -> None:
    data = {"version": STATE_VERSION, "queries": {sha: asdict(item) for sha, item in state.items()}}
    _write_atomically(path, json.dumps(data, indent=1, ensure_ascii=False))


def _write_atomically(path: Path, text: str) -> None:
    try:
        write_text_atomic(path, text)
    except OSError as error:
        raise CaseError(f"The file {path} cannot be written ({error.strerror or error}).") from error


# ---------------------------------------------------------------------------- summaries


def summary_rows(items: Sequence[BatchItem]) -> list[dict[str, str]]:
    """One flat row per query (the CSV's columns: :data:`SUMMARY_FIELDS`)."""
    return [
        {
            "query": i.query, "sha256": i.sha256, "status": i.status, "case_number": i.case_number, "report": i.report,
            "top_subjects": ";".join(s for s, _ in i.top), "top_confidences": ";".join(f"{c:.6f}" for _, c in i.top), "error": i.error,
        }
        for i in items
    ]


def write_summaries(summary: BatchSummary, query_dir: Path) -> dict[str, Path]:
    """Write ``summary.csv``, ``summary.json`` and ``summary.pdf`` atomically; returns their paths."""
    out = summary.out_dir
    files = {"csv": out / "summary.csv", "json": out / "summary.json", "pdf": out / "summary.pdf"}
    _write_atomically(files["csv"], csv_text(summary_rows(summary.items), fieldnames=SUMMARY_FIELDS))
    counts = {status: sum(1 for i in summary.items if i.status == status) for status in ("done", "failed", "duplicate")}
    data = {"query_dir": str(query_dir), "counts": counts, "searched_this_run": summary.searched, "skipped_done_before": summary.skipped,
            "queries": [{**asdict(i), "top": [{"subject_id": s, "confidence": c} for s, c in i.top]} for i in summary.items]}
    _write_atomically(files["json"], json.dumps(data, indent=1, ensure_ascii=False))
    _write_summary_pdf(summary, query_dir, files["pdf"])
    return files


def _write_summary_pdf(summary: BatchSummary, query_dir: Path, path: Path) -> None:
    from reportlab.lib.pagesizes import A4  # reportlab loads only when a PDF is written
    from reportlab.lib.units import mm  # reportlab loads only when a PDF is written


    s = styles()
    width = A4[0] - 2 * MARGIN_MM * mm
    counts = {status: sum(1 for i in summary.items if i.status == status) for status in ("done", "failed", "duplicate")}
    story: list[Any] = [
        para("Batch search summary", s["title"]),
        para(f"Query folder: {markup(query_dir)}. {len(summary.items)} files: {counts['done']} searched, {counts['failed']} failed, "
           f"{counts['duplicate']} duplicates. Each searched query has its own case and report.", s["body"]),
        para(markup(LEAD_STATEMENT), s["lead"]),
    ]
    rows: list[list[Any]] = [[para(f"<b>{h}</b>", s["small"]) for h in ("Query", "Status", "Case", "Top candidates (confidence)")]]
    for item in summary.items:
        top = ", ".join(f"{markup(subject, max_chars=80)} ({confidence * 100:.1f}%)" for subject, confidence in item.top[:5])
        rows.append([
            para(markup(f"{Path(item.query).name}\n{item.sha256[:16]}", max_chars=300), s["small"]), para(markup(item.status), s["small"]),
            para(markup(item.case_number), s["small"]), para(top or markup(item.error, max_chars=1000), s["small"]),
        ])
    story.append(data_table(rows, [130, 45, 80, width - 255], header=True, zebra=True))
    metadata = {"title": "CrossID batch search summary", "author": "CrossID Desktop", "subject": f"Batch search of {query_dir}", "keywords": "CrossID; batch"}
    build_atomically(story, path, header_left="CrossID Desktop batch summary", header_right=query_dir.name[:40],
                     footer="Investigative leads, not identifications. Generated " + now_utc()[:19].replace("T", " ") + " UTC", metadata=metadata)
