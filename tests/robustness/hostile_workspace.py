"""The workspace the hostile corpus runs against: two real (untrained) matchers, a small gallery
(the faces of three synthetic people and four other photos), and the check that nothing a hostile
input did harmed it: SQLite's integrity and foreign keys, every index agreeing with the
database, every case's audit log verifying, and no photo lost."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService
from crossid_desktop.cli import main
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.workspace import Workspace


@dataclass
class HostileWorkspace:
    workspace: Workspace
    s2f: Path  # the synthetic people's folders (X-rays and faces)
    people: tuple[str, ...]
    photo: Path  # an enrolled photo
    images: int  # photos the gallery holds now

    def argv(self, *args: str) -> list[str]:
        return ["--workspace", str(self.workspace.root), *args]


def assert_intact(ws: HostileWorkspace, capsys: pytest.CaptureFixture[str]) -> None:
    """SQLite integrity and foreign keys; each matcher's index up to date with as many vectors
    as the gallery has photos; every case verifies; the gallery holds the photos expected."""
    db = sqlite3.connect(ws.workspace.db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()
    with GalleryStore(ws.workspace.db_path) as store:
        assert store.counts().images == ws.images
    capsys.readouterr()
    assert main(ws.argv("gallery", "list", "--json")) == 0
    indexes = json.loads(capsys.readouterr().out)["indexes"]
    assert len(indexes) == 2 and all(i["matches_db"] and i["count"] == ws.images for i in indexes), indexes
    cases = CaseService(ws.workspace)
    for case in cases.list():
        result = cases.verify(case.case_number)
        assert result.ok, (case.case_number, result)
