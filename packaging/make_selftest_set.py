"""Make the self-test's reference set, ``resources/selftest/``, from the project's own synthetic
people, and record the results this installation gives for it.

    python packaging/make_selftest_set.py            # then review, run the tests, commit

What it writes:

- ``gallery/<subject>/face_front.jpg``, ``face_front_2.jpg`` and ``gallery.csv``: two frontal
  photos of each of :data:`SUBJECTS` simulated people (``crossid synth`` with :data:`SEED`),
  stored as JPEG (quality 90) to keep the set small;
- ``queries/``: a frontal skull X-ray as a 16-bit DICOM (12 bits stored, RLE Lossless, so the
  self-test exercises the DICOM decoders), the lateral X-ray of the same person as PNG, and an
  injured-face photo of another person as JPEG;
- ``reference.json``: the reference searches and their expected outcome, recorded by running
  them here (exact search over the whole gallery): the matcher fingerprints, the leading
  candidates whose order is unambiguous at :data:`TOLERANCE`, with distance ranges of
  +/- :data:`TOLERANCE`, and the rank of each true identity;
- ``resources/manifest.json`` again (the set is part of the resources).

Run it only when the matchers, the synthetic renderer or the search change on purpose: the new
expectations then become the validated ones. It refuses a set in which a photo needs a
centre crop, a query face is not found, or the first two candidates of a search are too close
to order reliably.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crossid_desktop.matching.selection import MatcherCache  # noqa: E402  (the checkout)
from crossid_desktop.selftest import reference as ref  # noqa: E402
from crossid_desktop.selftest.operation import run_reference_search  # noqa: E402
from crossid_desktop.synth.cohort import CohortConfig, generate_cohort  # noqa: E402
from crossid_desktop.workspace import Workspace  # noqa: E402

SEED = 1515
SUBJECTS = 6
IMAGE_SIZE = 256
XRAY_SUBJECT = 2  # 0-based index into the cohort
INJURED_SUBJECT = 4
#: half-width of every expected distance range: covers float32 arithmetic on other processors,
#: GPUs (TF32 convolutions) and BLAS builds; far below the distances between people
TOLERANCE = 0.01
JPEG_QUALITY = 90
OUT = ROOT / "resources" / "selftest"

SEARCHES = (
    ("Skull X-ray, frontal (DICOM) and lateral", ("queries/xray_front.dcm", "queries/xray_side.png"), None, {"xray": "bundled:skull2face"}, XRAY_SUBJECT),
    ("Injured face, pretrained face matcher", ("queries/injured_face.jpg",), ("injured_face",), {"injured": "dlib"}, INJURED_SUBJECT),
    ("Injured face, bundled injured-face model", ("queries/injured_face.jpg",), ("injured_face",), {"injured": "bundled:injured"}, INJURED_SUBJECT),
)


def write_jpeg(source: Path, target: Path) -> None:
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.open(source).convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    target.write_bytes(buffer.getvalue())


def write_dicom(source: Path, target: Path, subject: str) -> None:
    """A frontal skull radiograph as DICOM: 16 bits allocated, 12 stored, RLE Lossless."""
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

    pixels = (np.asarray(Image.open(source).convert("L"), dtype=np.uint16) * 16).astype(np.uint16)  # 8 -> 12 bits
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["crossid-selftest", subject, "xray_front"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["crossid-selftest", subject, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["crossid-selftest", subject, "series"])
    ds.PatientName, ds.PatientID = "SELFTEST^SIMULATED", f"SELFTEST-{subject}"
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "SKULL", "PA"
    ds.ImageComments = "Simulated person made by crossid synth; not a real patient."
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    ds.compress(RLELossless, encoding_plugin="pydicom")
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)


def write_set(cohort_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The gallery, its manifest and the queries; returns the subject ids and their names."""
    cohort = generate_cohort(cohort_dir, CohortConfig(SUBJECTS, SEED, IMAGE_SIZE, extra_gallery_photos=1, injured_per_subject=1))
    with open(cohort.s2f_root / "subjects.csv", newline="", encoding="utf-8") as handle:
        names = {row["subject_id"]: row.get("name", "") for row in csv.DictReader(handle)}
    rows = []
    for subject in cohort.subject_ids:
        for stem in ("face_front", "face_front_2"):
            relative = f"gallery/{subject}/{stem}.jpg"
            write_jpeg(cohort.s2f_root / subject / f"{stem}.png", OUT / relative)
            rows.append([relative, subject, names[subject], "front"])
    with open(OUT / "gallery.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "subject_id", "name", "view"])
        writer.writerows(rows)
    xray, injured = cohort.subject_ids[XRAY_SUBJECT], cohort.subject_ids[INJURED_SUBJECT]
    write_dicom(cohort.s2f_root / xray / "xray_front.png", OUT / "queries" / "xray_front.dcm", xray)
    shutil.copyfile(cohort.s2f_root / xray / "xray_side.png", OUT / "queries" / "xray_side.png")
    write_jpeg(next(iter(sorted((cohort.if_root / injured / "injured").iterdir()))), OUT / "queries" / "injured_face.jpg")
    return list(cohort.subject_ids), names


def record_expectations(subjects: list[str], work: Path) -> dict:
    """Run the reference searches here and keep their outcome as the expectation."""
    from crossid_desktop.gallery.enrol import enrol

    searches = [ref.ReferenceSearch(name, queries, modalities, matchers, subjects[index], "", (), None) for name, queries, modalities, matchers, index in SEARCHES]
    draft = ref.ReferenceSet(OUT, "gallery.csv", len(subjects), 2 * len(subjects), TOLERANCE, tuple(searches), "")
    workspace = Workspace.open(work / "workspace")
    cache = MatcherCache(device="cpu")
    report = enrol(workspace, OUT / "gallery.csv", matchers=[cache.get(s) for s in draft.matcher_specs()], allow_centre_crop=False)
    if report.failures or report.added != draft.photos:
        raise SystemExit(f"make_selftest_set: {len(report.failures)} photos could not be enrolled without a centre crop; choose another SEED.")
    recorded = []
    for search in searches:
        result, true_rank = run_reference_search(workspace, cache, draft, search)
        distances = [(c.subject_id, c.distance) for c in result.candidates]
        print(f"{search.name}: " + ", ".join(f"{s} {d:.4f}" for s, d in distances) + f"; true {search.true_subject_id} at rank {true_rank}")
        top = ref.expected_top(distances, TOLERANCE)
        if not top:
            raise SystemExit(f"make_selftest_set: the first two candidates of '{search.name}' are within {2 * TOLERANCE}; choose another SEED.")
        recorded.append(ref.search_to_dict(ref.ReferenceSearch(search.name, search.queries, search.modalities, search.matchers, search.true_subject_id,
                                                               result.matcher_fingerprint, top, true_rank)))
    return {
        "format": ref.FORMAT,
        "format_version": ref.FORMAT_VERSION,
        "made_by": f"packaging/make_selftest_set.py: crossid synth --subjects {SUBJECTS} --seed {SEED} --image-size {IMAGE_SIZE}; expectations recorded on the CPU",
        "gallery": {"manifest": "gallery.csv", "subjects": len(subjects), "photos": 2 * len(subjects)},
        "tolerance": TOLERANCE,
        "searches": recorded,
    }


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="crossid-selftest-set-") as work:
        subjects, _ = write_set(Path(work) / "cohort")
        reference = record_expectations(subjects, Path(work))
    (OUT / ref.REFERENCE_NAME).write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")
    (OUT / "README.md").write_text(README, encoding="utf-8")
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT.relative_to(ROOT)}: {sum(1 for p in OUT.rglob('*') if p.is_file())} files, {size / 1024:.0f} KiB")
    import write_manifest  # packaging/write_manifest.py, beside this script

    return write_manifest.main([])


README = """# Self-test reference set

Simulated people only (`crossid synth`), made by `packaging/make_selftest_set.py`, which also
recorded the expected outcome of each reference search in `reference.json`. `crossid selftest`
enrols `gallery.csv` into a temporary workspace, runs the searches and compares. Do not edit
these files by hand: their SHA-256 digests are in `resources/manifest.json`, and a changed file
fails the self-test.
"""


if __name__ == "__main__":
    sys.exit(main())
