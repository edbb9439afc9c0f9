"""Tests for crossid_desktop.imaging.dicom_media: DICOMDIRs (written here by pydicom's
FileSet, and pydicom's bundled one) and plain folders, missing and unreadable files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from builders import skull_ramp, write_dicom, write_dicom_disc, write_dicom_sources

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.dicom import PatientIdentity
from crossid_desktop.imaging.dicom_media import open_media, thumbnail
from crossid_desktop.imaging.io import load_image


def test_dicomdir_lists_patients_studies_series(tmp_path: Path) -> None:
    disc = write_dicom_disc(tmp_path)
    media = open_media(disc / "DICOMDIR")
    assert media.kind == "DICOMDIR" and media.missing == () and media.unreadable == ()
    assert {p.identity for p in media.patients} == {PatientIdentity("Doe, Jane", "PID-A", "1970-01-01"), PatientIdentity("Roe, Richard", "PID-B", "1980-02-02")}
    jane = next(p for p in media.patients if p.identity.patient_id == "PID-A")
    (study,) = jane.studies
    assert (study.date, study.description) == ("2024-01-02", "Skull")
    rows = [(s.number, s.modality, s.body_part, s.view_positions, s.image_count) for s in study.series]
    assert rows == [(1, "DX", "SKULL", "PA", 1), (2, "DX", "SKULL", "LL", 1), (3, "DX", "", "", 1), (4, "SR", "", "", 0)]
    multi = study.series[2].images[0]
    assert multi.frames == 3 and (multi.rows, multi.columns) == (48, 64)
    report = study.series[3].images[0]
    assert not report.has_pixels and "structured report" in report.note
    assert open_media(disc).kind == "DICOMDIR"  # the folder holding it opens the same


def test_missing_files_are_listed_and_the_rest_opens(tmp_path: Path) -> None:
    disc = write_dicom_disc(tmp_path)
    before = {image.path for image in open_media(disc).images()}
    lost = sorted(before)[0]
    lost.unlink()
    media = open_media(disc)
    assert media.missing == (lost,)
    after = {image.path for image in media.images()}
    assert after == before - {lost}
    for image in media.images():
        if image.has_pixels:
            assert load_image(image.path).pixels.shape == (48, 64)


def test_names_are_matched_without_regard_to_case(tmp_path: Path) -> None:
    disc = write_dicom_disc(tmp_path)
    (disc / "PT000000").rename(disc / "pt000000")  # a disc mounted in lower case
    media = open_media(disc)
    assert media.missing == () and sum(1 for _ in media.images()) == 5


def test_folder_without_dicomdir(tmp_path: Path) -> None:
    folder = tmp_path / "usb"
    write_dicom_sources(folder / "a" / "b")
    (folder / "README.txt").write_text("viewer software", encoding="utf-8")
    (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f")
    media = open_media(folder)
    assert media.kind == "folder" and len(media.patients) == 2
    assert sum(1 for _ in media.images()) == 5
    assert [path.name for path, _ in media.unreadable] == ["broken.dcm"]
    assert "truncated or corrupt" in media.unreadable[0][1]


def test_nothing_to_list(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidImageError, match="holds no readable DICOM file"):
        open_media(tmp_path / "empty")
    with pytest.raises(InvalidImageError, match="does not exist"):
        open_media(tmp_path / "nowhere")
    photo = write_dicom(tmp_path / "single.dcm", skull_ramp())
    with pytest.raises(InvalidImageError, match="is not a DICOMDIR"):
        open_media(photo)


def test_thumbnail_is_small_and_shows_the_image(tmp_path: Path) -> None:
    disc = write_dicom_disc(tmp_path)
    image = next(i for i in open_media(disc).images() if i.view_position == "PA")
    small = thumbnail(image, size=32)
    assert small.shape == (24, 32) and small.dtype == np.uint8
    assert small[:, :4].mean() > 200 and small[:, -4:].mean() < 55  # bright left, dark right, as stored
    big = thumbnail(image, size=500)  # never enlarged
    assert big.shape == (48, 64)


def test_pydicoms_bundled_dicomdir_matches_its_readme() -> None:
    # pydicom's test_files/README.txt lists the hierarchy of this DICOMDIR: 2 patients and
    # 31 images in 13 series, the first patient's CR series holding one image each.
    disc = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"
    media = open_media(disc / "DICOMDIR")
    assert len(media.patients) == 2 and media.missing == ()
    series = [s for _, _, s in media.series()]
    assert len(series) == 13 and sum(s.image_count for s in series) == 31
    counts = sorted(s.image_count for s in series)
    assert counts == sorted([1, 1, 1, 4, 2, 5, 1, 1, 1, 3, 1, 3, 7])
    archibald = next(p for p in media.patients if p.identity.patient_id == "77654033")
    assert archibald.identity.name == "Doe, Archibald"
    cr = [s for study in archibald.studies for s in study.series if s.modality == "CR"]
    assert [s.image_count for s in cr] == [1, 1, 1]


def test_bundled_dicomdir_copied_without_one_file(tmp_path: Path) -> None:
    source = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"
    disc = tmp_path / "disc"
    shutil.copytree(source, disc)
    (disc / "77654033" / "CT2" / "17136").unlink()
    media = open_media(disc / "DICOMDIR")
    assert media.missing == (disc / "77654033" / "CT2" / "17136",)
    assert sum(s.image_count for _, _, s in media.series()) == 30
