"""Batch search over a folder of queries with a real (untrained) matcher: one case and report
per query, a corrupt file listed as failed without stopping the batch, resuming skips the
queries done; and ``crossid search --report`` recording into a case."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest
from builders import save_untrained_matcher, write_photo

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.batch import STATE_NAME, run_batch
from crossid_desktop.cli import main
from crossid_desktop.errors import Cancelled
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.selection import MatcherCache, write_config
from crossid_desktop.search.service import SearchService
from crossid_desktop.workspace import Workspace

pytestmark = pytest.mark.slow  # end to end: real cohorts, models, cases or reports


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path, MatcherCache]:
    from crossid_desktop.gallery.enrol import enrol

    root = tmp_path_factory.mktemp("batch")
    ws = Workspace.open(root / "ws")
    write_config(ws.root, "injured", str(save_untrained_matcher(root / "injured.pt", "injured")))
    for subject in range(4):
        write_photo(root / "gallery" / f"P{subject:03d}" / "photo_0.png", seed=subject)
    cache = MatcherCache()
    enrol(ws, root / "gallery", matchers=cache.configured(ws.root), allow_centre_crop=True)
    return ws, root, cache


def _searches(ws: Workspace) -> int:
    """How many searches all cases logged (counted from the audit logs, not the batch)."""
    cases = CaseService(ws)
    return sum(1 for c in cases.list() for e in cases.audit_log(c.case_number) if e.action == "search_recorded")


def test_batch_reports_each_query_lists_the_corrupt_one_and_resumes(gallery: tuple[Workspace, Path, MatcherCache], tmp_path: Path) -> None:
    ws, root, cache = gallery
    queries = tmp_path / "queries"
    write_photo(queries / "a.png", seed=2)
    write_photo(queries / "b.png", seed=3)
    (queries / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated, not a jpeg")
    (queries / "notes.txt").write_text("not a query")
    out = tmp_path / "out"
    before = _searches(ws)
    service = SearchService(ws, matchers=cache)
    seen: list[tuple[int, int]] = []
    summary = run_batch(ws, queries, out, top_k=3, modality=QueryModality.INJURED_FACE, examiner="Mária", service=service, allow_centre_crop=True,
                        progress=lambda done, total, message="": seen.append((done, total)))
    status = {Path(i.query).name: i.status for i in summary.items}
    assert status == {"a.png": "done", "b.png": "done", "c.jpg": "failed"}
    failed = summary.failed[0]
    assert "c.jpg" in failed.error and failed.case_number == "" and failed.report == ""
    assert (summary.searched, summary.skipped) == (2, 0) and _searches(ws) == before + 2
    assert seen[-1] == (3, 3)
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = {Path(r["query"]).name: r for r in csv.DictReader(handle)}
    for name in ("a.png", "b.png"):
        row = rows[name]
        assert Path(row["report"]).is_file() and row["case_number"] and len(row["top_subjects"].split(";")) == 3
        case = CaseService(ws).get(row["case_number"])  # each query its own case
        assert case.examiner == "Mária" and case.latest_search.result.queries[0].sha256 == row["sha256"]
        assert row["top_subjects"].split(";") == [c.subject_id for c in case.latest_search.result.candidates]
    assert rows["a.png"]["case_number"] != rows["b.png"]["case_number"]
    assert rows["c.jpg"]["status"] == "failed" and rows["c.jpg"]["error"]
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert data["counts"] == {"done": 2, "failed": 1, "duplicate": 0}
    assert (out / "summary.pdf").read_bytes().startswith(b"%PDF")

    # a rerun with one new file searches only that one
    write_photo(queries / "d.png", seed=1)
    again = run_batch(ws, queries, out, top_k=3, modality=QueryModality.INJURED_FACE, service=service, allow_centre_crop=True)
    assert (again.searched, again.skipped) == (1, 2) and _searches(ws) == before + 3
    assert {Path(i.query).name: i.case_number for i in again.items if i.status == "done"}["a.png"] == rows["a.png"]["case_number"]
    state = json.loads((out / STATE_NAME).read_text(encoding="utf-8"))
    assert len(state["queries"]) == 3 and all(v["status"] == "done" for v in state["queries"].values())


def test_cancelled_batch_keeps_what_was_done(gallery: tuple[Workspace, Path, MatcherCache], tmp_path: Path) -> None:
    ws, _, cache = gallery
    queries = tmp_path / "queries"
    for n in range(2):
        write_photo(queries / f"q{n}.png", seed=n)
    cancel = threading.Event()

    def stop_after_first(done: int, total: int, message: str = "") -> None:
        if done == 1:
            cancel.set()

    with pytest.raises(Cancelled):
        run_batch(ws, queries, tmp_path / "out", top_k=2, modality=QueryModality.INJURED_FACE, service=SearchService(ws, matchers=cache),
                  allow_centre_crop=True, progress=stop_after_first, cancel=cancel)
    state = json.loads((tmp_path / "out" / STATE_NAME).read_text(encoding="utf-8"))
    assert len(state["queries"]) == 1  # the first query was searched and saved before the stop
    resumed = run_batch(ws, queries, tmp_path / "out", top_k=2, modality=QueryModality.INJURED_FACE, service=SearchService(ws, matchers=cache),
                        allow_centre_crop=True)
    assert (resumed.searched, resumed.skipped) == (1, 1)


def test_cli_search_report_records_into_a_case(gallery: tuple[Workspace, Path, MatcherCache], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws, root, _ = gallery
    args = ["--workspace", str(ws.root)]
    query = root / "gallery" / "P001" / "photo_0.png"
    out = tmp_path / "cli.pdf"
    assert main([*args, "search", str(query), "--modality", "injured", "--centre-crop", "--top-k", "3", "--report", str(out), "--case", "DVI-7", "--examiner", "Ñúñez"]) == 0
    assert "case DVI-7: search recorded, report written" in capsys.readouterr().out and out.is_file()
    # a second search goes into the same case
    assert main([*args, "search", str(query), "--modality", "injured", "--centre-crop", "--report", str(out), "--case", "DVI-7"]) == 0
    cases = CaseService(ws)
    assert len(cases.get("DVI-7").searches) == 2 and cases.get("DVI-7").examiner == "Ñúñez"
    assert [e.action for e in cases.audit_log("DVI-7")] == ["case_created", "search_recorded", "report_exported", "search_recorded", "report_exported"]
    assert main([*args, "search", str(query), "--report", str(tmp_path / "report.txt")]) != 0
    assert main([*args, "batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) != 0


def test_a_subject_with_a_huge_name_fails_no_query(gallery: tuple[Workspace, Path, MatcherCache], tmp_path: Path) -> None:
    """Every report lists the subject; a 10,000-character name once made every query fail."""
    from crossid_desktop.gallery.store import GalleryStore

    ws, _, cache = gallery
    with GalleryStore(ws.db_path) as store:
        store.upsert_subject("P000", name=("Maximiliana " * 900)[:10_000])
    try:
        queries = tmp_path / "queries"
        for n in range(2):
            write_photo(queries / f"q{n}.png", seed=10 + n)
        summary = run_batch(ws, queries, tmp_path / "out", top_k=4, modality=QueryModality.INJURED_FACE, service=SearchService(ws, matchers=cache),
                            allow_centre_crop=True)  # the drawn photos hold no face a detector finds
        assert [i.status for i in summary.items] == ["done", "done"], [i.error for i in summary.items]
    finally:
        with GalleryStore(ws.db_path) as store:
            store.upsert_subject("P000", name="")


def test_a_failed_item_leaves_no_orphan_case_and_reruns_open_none(gallery: tuple[Workspace, Path, MatcherCache], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crossid_desktop.cases import batch
    from crossid_desktop.errors import CaseError

    ws, _, cache = gallery
    queries = tmp_path / "queries"
    write_photo(queries / "q.png", seed=21)
    real_export = batch.export_report

    def failing_export(*args, **kwargs):
        raise CaseError("The report cannot be written (disk full).")

    monkeypatch.setattr(batch, "export_report", failing_export)
    cases = CaseService(ws)
    before = len(cases.list())
    run = lambda: run_batch(ws, queries, tmp_path / "out", top_k=2, modality=QueryModality.INJURED_FACE, service=SearchService(ws, matchers=cache),
                            allow_centre_crop=True)
    for _ in range(2):  # the first run and a rerun, both failing at the report
        item = run().items[0]
        assert item.status == "failed" and "disk full" in item.error and item.case_number
    assert len(cases.list()) == before + 1  # one case, named by the failed item
    assert len(cases.get(item.case_number).searches) == 1  # the rerun did not search again
    monkeypatch.setattr(batch, "export_report", real_export)
    done = run().items[0]
    assert done.status == "done" and done.case_number == item.case_number and Path(done.report).is_file()
    assert len(cases.list()) == before + 1 and cases.verify(done.case_number).ok
