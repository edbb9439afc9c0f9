"""Evidence recorded with a search beyond the score, read for the comparison pages: skull-face
correspondence records and maps of unreliable regions, with their digests checked."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np
import pytest
from PIL import Image
from report_builders import mask_record

from crossid_desktop.cases.report_evidence import LandmarkResidual, craniofacial_views, ignored_regions, mask_digest, tint_regions


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_craniofacial_record_read_with_its_overlay() -> None:
    overlay = _png(np.full((8, 8, 3), 100, np.uint8))
    record = {"views": [{"view": "front", "status": "inconsistent", "unit": "mm", "excluding": ["pronasale"],
                         "landmarks": [{"name": "pronasale", "residual": 9.5, "tolerance": 6.0}, {"name": "stomion", "residual": 2.0, "tolerance": 6.0},
                                       {"name": "menton_soft", "residual": None, "tolerance": 6.0}, {"name": ""}],
                         "overlay_png_base64": base64.b64encode(overlay).decode(), "overlay_sha256": hashlib.sha256(overlay).hexdigest()}]}
    (view,), problem = craniofacial_views(record)
    assert problem == "" and view.status == "inconsistent" and view.excluding == ("pronasale",) and view.overlay_png == overlay
    assert [(m.name, m.within) for m in view.landmarks] == [("pronasale", False), ("stomion", True), ("menton_soft", None)]


def test_craniofacial_views_keyed_by_name() -> None:
    record = {"status": "inconsistent", "views": {"front": {"status": "consistent", "excluding": [], "reasons": []},
                                                 "side": {"status": "inconsistent", "excluding": ["pronasale"], "photos_compared": 2}}}
    views, problem = craniofacial_views(record)
    assert problem == "" and [(v.view, v.status, v.excluding) for v in views] == [("front", "consistent", ()), ("side", "inconsistent", ("pronasale",))]
    assert all(v.landmarks == () and v.overlay_png is None and v.overlay_problem == "" for v in views)


def test_craniofacial_record_problems_are_said() -> None:
    assert craniofacial_views(None) == ((), "")
    assert "cannot be read" in craniofacial_views({"views": "x"})[1]
    bad = {"views": [{"view": "side", "status": "odd", "overlay_png_base64": base64.b64encode(b"png").decode(), "overlay_sha256": "0" * 64}]}
    (view,), _ = craniofacial_views(bad)
    assert view.status == "not assessable" and view.overlay_png is None and "does not match its SHA-256" in view.overlay_problem
    assert LandmarkResidual("x", 6.0, 6.0).within is True  # at the tolerance is within


def test_mask_digest_is_of_shape_and_bits() -> None:
    mask = np.zeros((4, 4), bool)
    mask[1, 2] = True
    # 16 bits row-major, most significant first: position 6 of the first byte -> 0b00000010, then 0x00
    assert mask_digest(mask) == hashlib.sha256(b"4x4|" + bytes([0x02, 0x00])).hexdigest()
    assert mask_digest(mask) != mask_digest(mask.T)


def test_ignored_regions_decoded_and_checked() -> None:
    record = mask_record(32)
    regions, problem = ignored_regions(record)
    assert problem == "" and regions.source == "detected" and regions.mask.shape == (32, 32)
    assert regions.fraction == pytest.approx(record["fraction"], abs=1e-4)
    assert ignored_regions(None) == (None, "")
    assert "does not match" in ignored_regions({**record, "sha256": "0" * 64})[1]
    assert "cannot be decoded" in ignored_regions({**record, "png_base64": "not base64!"})[1]


def test_tint_marks_the_regions_and_leaves_the_rest() -> None:
    face = np.full((20, 20, 3), 200, np.uint8)
    mask = np.zeros((10, 10), bool)
    mask[2:6, 2:6] = True  # -> rows and columns 4..11 of the 20-pixel face
    out = tint_regions(face, mask)
    assert out.shape == (20, 20, 3)
    assert (out[:4] == 200).all() and (out[:, 12:] == 200).all()  # outside: unchanged
    assert tuple(out[7, 7]) == (round(0.55 * 200 + 0.45 * 214), round(0.55 * 200 + 0.45 * 40), round(0.55 * 200 + 0.45 * 40))  # inside: blended
    assert tuple(out[4, 7]) == (214, 40, 40)  # the outline
    assert tint_regions(face[..., 0], mask).shape == (20, 20, 3)  # grey faces too


def test_figures_made_again_complete_the_record() -> None:
    from types import SimpleNamespace

    from crossid_desktop.cases.report_evidence import with_figures

    picture = _png(np.zeros((4, 4, 3), np.uint8))
    rows = (("pronasale", "10, 20", "12, 21", "9.8 mm", "6.0 mm", "NO"), ("stomion", "10, 40", "10, 41", "1.0 mm", "6.0 mm", "yes"))
    front = SimpleNamespace(subject_id="S1", view="front", picture=picture, rows=rows, notes=("The examiner moved the overlay by hand.",))
    side = SimpleNamespace(subject_id="S1", view="side", picture=None, rows=(), notes=())
    other = SimpleNamespace(subject_id="S2", view="front", picture=picture, rows=rows, notes=())
    views, _ = craniofacial_views({"views": {"front": {"status": "inconsistent", "excluding": ["pronasale"]}}})
    completed = with_figures(views, [front, side, other], "S1")
    assert [v.view for v in completed] == ["front", "side"]
    first, second = completed
    assert first.status == "inconsistent" and first.overlay_png == picture and first.unit == "mm"
    assert [(m.name, m.residual, m.tolerance, m.within) for m in first.landmarks] == [("pronasale", 9.8, 6.0, False), ("stomion", 1.0, 6.0, True)]
    assert first.notes == ("The examiner moved the overlay by hand.",)
    assert second.status == "not assessable" and second.landmarks == () and second.overlay_png is None
    assert with_figures(views, [], "S1") == views


def test_a_verdict_without_views_is_read_as_one() -> None:
    record = {"status": "not assessable", "statement": "...", "excluding": [], "reasons": ["the X-ray cannot be assessed: no skull found"], "views": {}}
    (view,), problem = craniofacial_views(record)
    assert problem == "" and (view.view, view.status, view.reasons) == ("overall", "not assessable", ("the X-ray cannot be assessed: no skull found",))
    assert craniofacial_views({"views": {}}) == ((), "")  # nothing recorded at all
