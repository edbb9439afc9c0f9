"""Versions of the runtime pieces and facts about the machine."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from crossid_desktop import about


def test_versions_are_those_installed() -> None:
    found = about.runtime_versions()
    assert found["python"] == platform.python_version()
    for name, distribution in (("numpy", "numpy"), ("pydicom", "pydicom"), ("hnswlib", "hnswlib"), ("pypdf", "pypdf"), ("qt", "PySide6-Essentials")):
        assert found[name] == version(distribution), name
    assert found["torch"].split("+")[0] == version("torch")  # torch's own string adds the build (+cu130, +cpu)


def test_a_piece_that_fails_to_load_is_reported_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_native_piece.py").write_text("raise RuntimeError('operator torchvision::nms does not exist')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(about, "RUNTIME_PIECES", (("broken", "broken_native_piece", "__version__", "broken-native-piece"),))
    assert about.runtime_versions()["broken"] is None


def test_installation_kind_and_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert about.installation_kind() == "python environment"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert about.installation_kind() == "bundle"
    facts = about.machine()
    assert facts["host"] == platform.node() and facts["cores"] == os.cpu_count() and facts["os"] == platform.platform()
    if sys.platform.startswith("linux"):
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        assert facts["memory_gib"] == round(pages / 2**30, 1)
