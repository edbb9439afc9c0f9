"""Operational checks: does the installation work as validated, end to end?

In a new, temporary workspace: the reference gallery is enrolled with every matcher the
reference searches use; each reference search must rank the expected candidates in order,
within their distance ranges, with the validated matcher weights; the first search is
recorded in a case with a mark and notes; the case's audit chain must verify, and an edit made
behind the application's back (on a copy of the database) must be detected; the case report is
exported as PDF and read back (page count and SHA-256 as logged, the case and the candidates in
its text).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossid_desktop.cases.case import CaseService
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.selection import MatcherCache, write_config
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.search.service import SearchService
from crossid_desktop.selftest.checks import OPERATION, CheckFailed, CheckResult, run_check
from crossid_desktop.selftest.manifest import file_sha256
from crossid_desktop.selftest.reference import ReferenceSearch, ReferenceSet, ReferenceSetError, compare, read_reference
from crossid_desktop.workspace import Workspace

if TYPE_CHECKING:
    from crossid_desktop.search.service import SearchResult

CASE_NUMBER = "SELFTEST-1"
ACTOR = "CrossID self-test"
CASE_NOTES = "Self-test case: reference searches on simulated people; no real person is involved."


def run_reference_search(workspace: Workspace, matchers: MatcherCache, reference: ReferenceSet, search: ReferenceSearch) -> tuple[SearchResult, int | None]:
    """Search one reference query over the whole gallery; returns the result and the true
    identity's rank. The workspace's matcher roles are set as the search names them."""
    for role, spec in search.matchers.items():
        write_config(workspace.root, role, spec)
    modalities = [QueryModality(m) for m in search.modalities] if search.modalities else None
    service = SearchService(workspace, matchers=matchers)
    result = service.search([reference.path(q) for q in search.queries], modality=modalities, top_k=reference.subjects, exact=True)
    return result, result.rank_of(search.true_subject_id)


class OperationalChecks:
    """The checks, run in ``work_dir`` (a new or empty folder the caller removes afterwards)."""

    def __init__(
        self, work_dir: Path, *, reference_dir: Path | None = None, device: str | None = None,
        progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.reference_dir = reference_dir
        self.matchers = MatcherCache(device=device)
        self.progress = progress or no_progress
        self.cancel = cancel
        self.reference: ReferenceSet | None = None
        self.workspace: Workspace | None = None
        self.results: dict[str, SearchResult] = {}
        self.report_path: Path | None = None

    def run(self) -> list[CheckResult]:
        try:
            self.reference = read_reference(self.reference_dir)
        except ReferenceSetError as error:
            return [CheckResult("Reference set", OPERATION, False, str(error))]
        steps: list[tuple[str, Any]] = [("Reference enrolment", self.check_enrolment)]
        steps += [(f"Reference search: {s.name}", partial(self.check_search, s)) for s in self.reference.searches]
        steps += [("Case record", self.check_case), ("Audit chain", self.check_audit), ("PDF report", self.check_report)]
        results = []
        for done, (name, check) in enumerate(steps):
            check_cancel(self.cancel, "The self-test")
            self.progress(done, len(steps), name)
            results.append(run_check(name, OPERATION, check))
        self.progress(len(steps), len(steps), "operational checks done")
        return results

    def _reference(self) -> ReferenceSet:
        assert self.reference is not None  # set by run()
        return self.reference

    def _workspace(self) -> Workspace:
        if self.workspace is None:
            raise CheckFailed("the reference gallery was not enrolled (see the check 'Reference enrolment').")
        return self.workspace

    def check_enrolment(self) -> tuple[str, dict[str, Any]]:
        from crossid_desktop.gallery.enrol import enrol

        reference = self._reference()
        workspace = Workspace.open(self.work_dir / "workspace")
        matchers = [self.matchers.get(spec) for spec in reference.matcher_specs()]
        report = enrol(workspace, reference.path(reference.gallery_manifest), matchers=matchers, allow_centre_crop=False, cancel=self.cancel)
        details = {"added": report.added, "subjects": len(report.subjects), "embedded": dict(report.embedded), "failures": [f"{f.path.name}: {f.reason}" for f in report.failures]}
        if report.failures:
            failure = report.failures[0]
            raise CheckFailed(f"{len(report.failures)} of {reference.photos} reference photos could not be enrolled, the first {failure.path.name}: {failure.reason}", details)
        if report.added != reference.photos or len(report.subjects) != reference.subjects:
            raise CheckFailed(f"{report.added} photos of {len(report.subjects)} people were enrolled where {reference.photos} of {reference.subjects} were expected.", details)
        short = [n for n, count in report.embedded.items() if count != reference.photos]
        if short:
            raise CheckFailed(f"the matcher {short[0]} embedded {report.embedded[short[0]]} of {reference.photos} photos.", details)
        self.workspace = workspace
        names = ", ".join(m.name for m in matchers)
        return f"{report.added} photos of {len(report.subjects)} simulated people enrolled and embedded by {len(matchers)} matchers ({names}).", details

    def check_search(self, search: ReferenceSearch) -> tuple[str, dict[str, Any]]:
        result, true_rank = run_reference_search(self._workspace(), self.matchers, self._reference(), search)
        details = {
            "matcher": result.matcher_name,
            "fingerprint": result.matcher_fingerprint,
            "candidates": [{"rank": c.rank, "subject_id": c.subject_id, "distance": round(c.distance, 6), "confidence": round(c.confidence, 6)} for c in result.candidates],
            "expected": [{"subject_id": c.subject_id, "distance": [c.distance_min, c.distance_max]} for c in search.top],
            "true_subject_id": search.true_subject_id,
            "true_rank": true_rank,
            "expected_true_rank": search.true_rank,
        }
        self.results[search.name] = result  # the case is recorded from it even when it departs
        problems = compare(search, result, true_rank)
        if problems:
            raise CheckFailed("; ".join(problems) + ".", details)
        ranked = ", ".join(f"{c.subject_id} ({result.candidates[i].confidence:.3f})" for i, c in enumerate(search.top))
        return f"top {len(search.top)} as expected: {ranked}; the true identity at rank {true_rank}.", details

    def check_case(self) -> tuple[str, dict[str, Any]]:
        workspace = self._workspace()
        first = self._reference().searches[0]
        result = self.results.get(first.name)
        if result is None:
            raise CheckFailed(f"there is no result of the reference search '{first.name}' to record.")
        cases = CaseService(workspace)
        cases.create_case(case_number=CASE_NUMBER, title="Installation self-test", examiner=ACTOR, actor=ACTOR)
        cases.record_search(CASE_NUMBER, result, actor=ACTOR, matcher_card=self.matchers.card_of(result.matcher_fingerprint))
        leading = result.candidates[0].subject_id
        cases.mark(CASE_NUMBER, leading, "of_interest", "Leading candidate of the reference search.", actor=ACTOR)
        cases.set_notes(CASE_NUMBER, CASE_NOTES, actor=ACTOR)
        case = cases.get(CASE_NUMBER)
        stored = case.latest_search.result if case.latest_search is not None else None
        details = {"case": CASE_NUMBER, "searches": len(case.searches), "marks": {subject: m.mark for subject, m in case.marks.items()}}
        if stored is None or [(c.subject_id, c.distance) for c in stored.candidates] != [(c.subject_id, c.distance) for c in result.candidates]:
            raise CheckFailed(f"case {CASE_NUMBER} does not hold the search exactly as it was returned.", details)
        if case.notes != CASE_NOTES or getattr(case.mark_of(leading), "mark", None) != "of_interest":
            raise CheckFailed(f"case {CASE_NUMBER} lost its notes or its mark on {leading}.", details)
        return f"case {CASE_NUMBER} holds the search, the mark on {leading} and the notes as recorded.", details

    def check_audit(self) -> tuple[str, dict[str, Any]]:
        workspace = self._workspace()
        verified = CaseService(workspace).verify(CASE_NUMBER)
        if not verified.ok:
            raise CheckFailed(f"the audit log of case {CASE_NUMBER} does not verify ({verified.reason}).")
        tampered = self._tampered_copy(workspace)
        broken = CaseService(tampered).verify(CASE_NUMBER)
        details = {"entries": verified.entries, "head": verified.head_hash, "tampered_detected": not broken.ok, "tampered_reason": broken.reason}
        if broken.ok:
            raise CheckFailed("notes changed in the database behind the application's back were not detected by the audit check.", details)
        return f"the audit log of {verified.entries} entries verifies; notes altered behind its back are detected: {broken.reason}.", details

    def _tampered_copy(self, workspace: Workspace) -> Workspace:
        """A copy of the workspace database whose case notes were changed with plain SQL."""
        folder = self.work_dir / "tampered"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        source, target = sqlite3.connect(workspace.db_path), sqlite3.connect(folder / "gallery.db")
        try:
            source.backup(target)
            target.execute("UPDATE cases SET notes = ? WHERE case_number = ?", ("altered outside CrossID Desktop", CASE_NUMBER))
            target.commit()
        finally:
            source.close()
            target.close()
        return Workspace.open(folder)

    def check_report(self) -> tuple[str, dict[str, Any]]:
        from crossid_desktop.cases.report import export_report

        workspace = self._workspace()
        first = self.results.get(self._reference().searches[0].name)
        if first is None:
            raise CheckFailed("there is no recorded case to report (see the check 'Case record').")
        path = export_report(workspace, CASE_NUMBER, self.work_dir / "selftest-case-report.pdf", actor=ACTOR)
        logged = CaseService(workspace).audit_log(CASE_NUMBER)[-1]
        facts = logged.details_dict()
        pages, text = read_pdf(path)
        digest = file_sha256(path)
        leading = first.candidates[0].subject_id
        details = {"path": str(path), "pages": pages, "sha256": digest, "logged": facts}
        missing = [w for w in (CASE_NUMBER, leading, "not an identification") if w not in " ".join(text.split())]
        if logged.action != "report_exported" or facts.get("sha256") != digest or facts.get("pages") != pages:
            raise CheckFailed(f"the report read back ({pages} pages, SHA-256 {digest[:12]}) is not the one the audit log records.", details)
        if missing:
            raise CheckFailed(f"the report's text lacks {', '.join(repr(m) for m in missing)}.", details)
        self.report_path = path
        return f"a {pages}-page report was exported, read back, and matches its audit entry (SHA-256 {digest[:12]}).", details


def read_pdf(path: Path) -> tuple[int, str]:
    """Page count and extracted text of a PDF (pypdf)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, OSError, ValueError) as error:
        raise CheckFailed(f"the report {path.name} cannot be read back as PDF ({error}).") from error
