"""The worker's jobs: every one lives in ``gui/jobs.py`` and is one the window or a panel
submits; opening a query pairs two X-rays into views as the search service does; the preview
is the query as the bundled matcher prepares it; the query-set rule applies before a search."""

from __future__ import annotations

import ast
import json
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from crossid_desktop.errors import MatcherMismatchError, UnsuitableQueryError
from crossid_desktop.gui import jobs
from crossid_desktop.gui.images import from_qimage
from crossid_desktop.gui.job_results import QueryImage
from crossid_desktop.imaging.io import LoadedImage, load_image
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.preprocess import prepare_query
from crossid_desktop.paths import resource_path

GUI = Path(jobs.__file__).resolve().parent
JOB_PARAMETERS = ["context", "progress", "cancel"]


def _modules() -> dict[str, ast.Module]:
    return {str(p.relative_to(GUI)): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(GUI.rglob("*.py"))}


def _run(job, context=None):
    return job(context, lambda done, total, message="": None, threading.Event())


def test_every_job_is_in_jobs_py_and_is_submitted_from_the_window_or_a_panel() -> None:
    modules = _modules()
    defined = {node.name for node in modules.pop("jobs.py").body if isinstance(node, ast.FunctionDef) and node.name.endswith("_job")}
    assert {"load_query_job", "preview_job", "search_job", "locate_job", "compare_job", "create_job", "change_job", "export_job",
            "read_gallery_job", "import_job", "remove_job", "rebuild_job", "startup_job", "demo_job"} <= defined
    called: dict[str, set[str]] = {}
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert [a.arg for a in node.args.args] != JOB_PARAMETERS, f"{name} defines a job, {node.name}; jobs live in gui/jobs.py"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("_job"):
                called.setdefault(node.func.id, set()).add(name)
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "crossid_desktop.gui.jobs" for a in n.names}
        mine = {job for job, where in called.items() if name in where}
        assert mine <= imported, f"{name} calls jobs not taken from gui/jobs.py: {sorted(mine - imported)}"
    assert set(called) == defined, f"jobs nobody submits: {sorted(defined - set(called))}"


def _skull(path: Path, *, lateral: bool) -> Path:
    """A greyscale 'skull': a bright ring in a dimmer disc, off-centre and lopsided when lateral."""
    import cv2

    y, x = np.mgrid[0:160, 0:160]
    centre = 60 if lateral else 80
    r = np.hypot(x - centre, y - 80)
    image = np.where(r < 60, 90, 10) + np.where(np.abs(r - 50) < 6, 140, 0) + (np.where((x > 100) & (y > 90), 120, 0) if lateral else 0)
    cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8))
    return path


def test_two_xrays_open_as_a_frontal_and_a_lateral_view_in_any_order(tmp_path: Path) -> None:
    front, side = _skull(tmp_path / "front.png", lateral=False), _skull(tmp_path / "side.png", lateral=True)
    opened = _run(jobs.load_query_job([str(side), str(front)]))
    assert [q.modality for q in opened] == [QueryModality.XRAY_SIDE, QueryModality.XRAY_FRONT]
    assert [q.image.path.name for q in opened] == ["side.png", "front.png"]
    assert opened[0].original.width() == 160
    told = _run(jobs.load_query_job([str(front)], [QueryModality.XRAY_SIDE]))  # a known modality wins over the guess
    assert told[0].modality == QueryModality.XRAY_SIDE and told[0].guessed == QueryModality.XRAY_FRONT


def test_the_xray_preview_at_the_default_strength_is_what_the_bundled_matcher_sees(tmp_path: Path) -> None:
    card = json.loads(resource_path("models", "skull2face.json").read_text(encoding="utf-8"))
    recipe = card["preprocessing"]["query"]
    image = load_image(_skull(tmp_path / "skull.png", lateral=True))
    matcher_sees = np.round(prepare_query(image, QueryModality.XRAY_SIDE, recipe).pixels * 255).astype(np.uint8)
    preview = _run(jobs.preview_job(image, QueryModality.XRAY_SIDE, recipe["soft_tissue"]["strength"]))
    assert np.array_equal(from_qimage(preview.processed)[:, :, 0], matcher_sees)
    assert preview.note == f"Soft tissue suppressed at strength {recipe['soft_tissue']['strength']:.2f}."
    other = _run(jobs.preview_job(image, QueryModality.XRAY_SIDE, 0.2))
    assert not np.array_equal(from_qimage(other.processed)[:, :, 0], matcher_sees)


def test_only_a_frontal_and_a_lateral_xray_are_searched_together(tmp_path: Path) -> None:
    image = load_image(_skull(tmp_path / "skull.png", lateral=False))
    other = load_image(_skull(tmp_path / "side.png", lateral=True))

    def query(modality: QueryModality, picture: LoadedImage = image) -> QueryImage:
        return QueryImage(picture, modality, modality, None)  # type: ignore[arg-type]

    images, modalities = jobs.search_arguments([query(QueryModality.XRAY_FRONT), query(QueryModality.XRAY_SIDE, other)])
    assert images == [image, other] and modalities == [QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE]
    for pair in ((QueryModality.XRAY_FRONT, QueryModality.XRAY_FRONT), (QueryModality.XRAY_FRONT, QueryModality.INJURED_FACE)):
        with pytest.raises(MatcherMismatchError):
            jobs.search_arguments([query(pair[0]), query(pair[1], other)])
    with pytest.raises(UnsuitableQueryError, match="same image"):  # one file as both views
        jobs.search_arguments([query(QueryModality.XRAY_FRONT), query(QueryModality.XRAY_SIDE)])
