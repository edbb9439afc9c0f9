"""The hostile corpus (:mod:`hostile_inputs`) through the ``crossid`` command, in order: each
input is refused in one sentence (one line, a project error, no traceback, nothing stored) or
gives a correct result, and after each the workspace is intact (:func:`conftest.assert_intact`)."""

from __future__ import annotations

import re

import pytest
from hostile_inputs import Hostile, dicom_corpus, image_corpus, manifest_corpus, text_corpus
from hostile_workspace import HostileWorkspace, assert_intact

from crossid_desktop.cli import main
from crossid_desktop.gallery.store import GalleryStore


def _corpus(ws: HostileWorkspace, root) -> list[Hostile]:
    return [
        *image_corpus(root / "images", ws.s2f, ws.people),
        *dicom_corpus(root / "dicom"),
        *manifest_corpus(root / "manifests", ws.s2f, ws.people),
        *text_corpus(ws.photo, root),
    ]


def _one_sentence(message: str) -> None:
    lines = message.strip().splitlines()
    assert len(lines) == 1, message
    line = lines[0]
    assert line.startswith("crossid: error: ") and "internal error" not in line and "Traceback" not in line, line
    assert line.rstrip().endswith("."), line


@pytest.mark.slow  # 65 commands with real (untrained) matchers; well under 2 minutes on 2 free cores
def test_the_hostile_corpus(hostile: HostileWorkspace, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _corpus(hostile, tmp_path_factory.mktemp("corpus"))
    assert len(corpus) >= 65 and len({h.id for h in corpus}) == len(corpus)
    problems = []
    for item in corpus:
        capsys.readouterr()
        try:
            code = main(hostile.argv(*item.argv))
            out, err = capsys.readouterr()
            if item.refused is not None:
                if item.exit_code is not None:  # a reported partial failure: each failure named on its own line
                    assert code == item.exit_code, (code, out, err)
                    assert re.search(item.refused, out), out
                else:
                    assert code == 2, (code, out, err)
                    _one_sentence(err)
                    assert re.search(item.refused, err), err
            else:
                assert code == 0, (code, err)
                item.check(out)
            hostile.images += item.adds
            assert_intact(hostile, capsys)
        except AssertionError as error:
            problems.append(f"{item.id}: {str(error).splitlines()[0][:400] if str(error) else repr(error)}")
            with GalleryStore(hostile.workspace.db_path) as store:  # one report per input, not a cascade
                hostile.images = store.counts().images
    assert not problems, "\n".join(problems)
