"""``crossid dicom list``: the listing as text and JSON, thumbnails, missing files, bad paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from builders import write_dicom_disc
from PIL import Image

from crossid_desktop.cli import main


def test_json_listing_of_a_disc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disc = write_dicom_disc(tmp_path)
    thumbs = tmp_path / "thumbs"
    thumbs.mkdir()
    assert main(["dicom", "list", str(disc), "--json", "--thumbnails", str(thumbs)]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["kind"] == "DICOMDIR" and listing["missing"] == [] and len(listing["patients"]) == 2
    jane = next(p for p in listing["patients"] if p["patient"]["patient_id"] == "PID-A")
    series = jane["studies"][0]["series"]
    assert [(s["modality"], s["view_position"], s["image_count"]) for s in series] == [("DX", "PA", 1), ("DX", "LL", 1), ("DX", "", 1), ("SR", "", 0)]
    assert series[0]["prefill"] == {"modality": "xray_front", "basis": "ViewPosition PA"}
    assert series[1]["prefill"] == {"modality": "xray_side", "basis": "ViewPosition LL"}
    assert series[2]["prefill"] is None and series[2]["images"][0]["frames"] == 3
    assert series[3]["thumbnail"] is None and "structured report" in series[3]["images"][0]["note"]
    # one thumbnail per series with an image, named by its number in the listing
    written = sorted(p.name for p in thumbs.iterdir())
    assert written == sorted(Path(s["thumbnail"]).name for p in listing["patients"] for st in p["studies"] for s in st["series"] if s["thumbnail"])
    assert all(name.startswith("series-") for name in written) and len(written) == 4
    picture = np.asarray(Image.open(series[0]["thumbnail"]))
    assert picture.shape == (48, 64) and picture[:, :4].mean() > picture[:, -4:].mean()


def test_text_listing_names_missing_files_and_multiframe_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disc = write_dicom_disc(tmp_path)
    lost = sorted(p for p in disc.rglob("IM*") if p.is_file())[0]
    lost.unlink()
    assert main(["dicom", "list", str(disc / "DICOMDIR")]) == 0
    out = capsys.readouterr().out
    assert "DICOMDIR" in out and "Doe, Jane; ID PID-A; 1970-01-01" in out
    assert "missing: 1 file(s) the DICOMDIR references are not there (the rest opens):" in out and str(lost) in out
    assert "3 frames (search one with --frame N)" in out
    assert "-> xray side (ViewPosition LL)" in out


def test_bad_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dicom", "list", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["dicom", "list", str(tmp_path / "empty")]) == 2
    assert "holds no readable DICOM file" in capsys.readouterr().err
    assert main(["dicom", "list", str(tmp_path / "empty"), "--thumbnails", str(tmp_path / "none")]) == 2
    assert "for the thumbnails does not exist" in capsys.readouterr().err
