"""Hostile or careless input at the command line: names that clash, files in other encodings,
a model for the wrong role, options after the command, and a case named without a report."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from builders import save_untrained_matcher, write_photo

from crossid_desktop.cases.case import CaseService
from crossid_desktop.cli import main
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.selection import read_config, write_config
from crossid_desktop.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    write_config(ws.root, "injured", str(save_untrained_matcher(tmp_path / "injured.pt", "injured")))
    write_config(ws.root, "xray", str(save_untrained_matcher(tmp_path / "skull.pt", "skull2face")))
    return ws


def _manifest(folder: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(folder / "manifest.csv", "w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows([["path", "subject_id", "name", "view"], *rows])
    return folder / "manifest.csv"


def test_a_subject_enrolled_under_another_name_is_refused_unless_renamed(workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_photo(first / "a.png", 1)
    write_photo(second / "b.png", 2)
    ws = ["--workspace", str(workspace.root)]
    assert main([*ws, "enroll", str(_manifest(first, [["a.png", "X1", "Ana Núñez", "front"]])), "--centre-crop"]) == 0
    capsys.readouterr()
    assert main([*ws, "enroll", str(_manifest(second, [["b.png", "X1", "Maria Silva", "front"]])), "--centre-crop"]) == 1
    out = capsys.readouterr().out
    assert 'enrolled as "Ana Núñez", not "Maria Silva"' in out and "--rename" in out
    with GalleryStore(workspace.db_path) as store:
        assert store.subject("X1").name == "Ana Núñez" and store.subject("X1").n_images == 1
    assert main([*ws, "enroll", str(second / "manifest.csv"), "--centre-crop", "--rename"]) == 0
    with GalleryStore(workspace.db_path) as store:
        assert store.subject("X1").name == "Maria Silva" and store.subject("X1").n_images == 2


def test_a_manifest_that_is_not_utf8_gets_one_plain_sentence(workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "latin"
    write_photo(folder / "a.png", 1)
    manifest = _manifest(folder, [["a.png", "X1", "Frédéric Müller", "front"]], encoding="latin-1")
    assert main(["--workspace", str(workspace.root), "enroll", str(manifest)]) != 0
    err = capsys.readouterr().err
    assert "is not UTF-8 text; save it as UTF-8" in err and "codec" not in err


def test_matcher_set_refuses_a_model_that_cannot_serve_the_role(workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = read_config(workspace.root)
    injured_model = save_untrained_matcher(tmp_path / "other_injured.pt", "injured")
    assert main(["--workspace", str(workspace.root), "matcher", "set", "xray", str(injured_model)]) != 0
    assert "cannot serve xray queries" in capsys.readouterr().err
    assert read_config(workspace.root) == before


def test_workspace_and_debug_also_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gallery", "list", "--workspace", str(tmp_path / "late"), "--debug"]) == 0
    assert str(tmp_path / "late") in capsys.readouterr().out


def test_search_with_a_case_and_no_report_records_the_search(workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gallery = tmp_path / "gallery"
    for subject in range(3):
        write_photo(gallery / f"P{subject}" / "a.png", subject)
    ws = ["--workspace", str(workspace.root)]
    assert main([*ws, "enroll", str(gallery), "--centre-crop"]) == 0
    capsys.readouterr()
    assert main([*ws, "search", str(gallery / "P1" / "a.png"), "--modality", "injured", "--case", "K-1", "--examiner", "E. Xam"]) == 0
    assert "case K-1: search recorded" in capsys.readouterr().out
    case = CaseService(workspace).get("K-1")
    assert len(case.searches) == 1
