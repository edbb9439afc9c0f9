"""Small real things the tests build: an untrained (but real) checkpoint, a picture, a drawn face.

``tests/`` is on ``sys.path`` during a test run (it holds the root ``conftest.py``), so test
modules import these as ``from builders import ...``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL


def save_untrained_matcher(path: Path, task: str, *, embedding_dim: int = 32, input_size: int = 64) -> Path:
    """A real checkpoint of an untrained mobilenet_v3_small (fast, deterministic): it gives
    distinct embeddings to distinct pictures and identical ones to identical pictures."""
    import torch

    from crossid_desktop.matching.backbones import IMAGENET_MEAN, IMAGENET_STD
    from crossid_desktop.matching.checkpoint import save_checkpoint
    from crossid_desktop.matching.model_card import ModelCard, preprocessing_recipe
    from crossid_desktop.matching.networks import CrossDomainNet

    torch.manual_seed(0)
    model = CrossDomainNet("mobilenet_v3_small", embedding_dim=embedding_dim, shared=(task == "injured"))
    # Batch-norm statistics from a few random batches: with the initial ones (mean 0, variance 1)
    # the untrained layers shrink every picture's features to ~1e-10 and all embeddings point the
    # same way (the head's bias), so rankings were rounding noise that depended on the machine.
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.momentum = None  # a plain average over the batches
        norm.train()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(4):
            batch = torch.randn(16, 3, input_size, input_size, generator=generator)
            for branch in (model.gallery, model.query):
                if branch is not None:
                    branch(batch)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    card = ModelCard(
        name=f"untrained-{task}",
        task=task,
        backbone="mobilenet_v3_small",
        embedding_dim=embedding_dim,
        network={},
        preprocessing=preprocessing_recipe(task, input_size=input_size, mean=IMAGENET_MEAN, std=IMAGENET_STD, soft_tissue={"strength": 0.7}),
    )
    save_checkpoint(path, model, card)
    return path


def write_photo(path: Path, seed: int) -> None:
    """A smooth random colour picture, 160 px: untrained networks embed these far apart."""
    import cv2
    import numpy as np

    small = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.resize(small, (160, 160), interpolation=cv2.INTER_CUBIC))


def synthetic_face(size: int = 256) -> NDArray[np.uint8]:
    """A skin-coloured ellipse lit from the upper left with darker eyes and mouth, on grey."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    inside = ((xx - 0.5) / 0.42) ** 2 + ((yy - 0.55) / 0.5) ** 2
    light = 0.75 + 0.3 * (1 - xx) * 0.5 + 0.25 * (1 - yy) * 0.5 - 0.25 * np.clip(inside, 0, 1) ** 2
    skin = np.array([0.86, 0.64, 0.52])[None, None, :] * light[..., None]
    img = np.where((inside < 1)[..., None], skin, 0.45)
    for ex, ey in (CANONICAL.right_eye, CANONICAL.left_eye):
        eye = ((xx - ex) / 0.06) ** 2 + ((yy - ey) / 0.025) ** 2 < 1
        img[eye] = (0.95, 0.95, 0.93)
        img[((xx - ex) / 0.02) ** 2 + ((yy - ey) / 0.02) ** 2 < 1] = (0.25, 0.18, 0.12)
    my = (CANONICAL.mouth_left[1] + CANONICAL.mouth_right[1]) / 2
    img[((xx - 0.5) / 0.12) ** 2 + ((yy - my) / 0.025) ** 2 < 1] = (0.7, 0.35, 0.35)
    rng = np.random.default_rng(0)  # a little skin texture
    img = img + rng.normal(0, 0.01, img.shape)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def dilate(mask: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    """Binary dilation by a disc of radius ``r``, as a plain loop over offsets."""
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > r * r:
                continue
            shifted = np.zeros_like(mask)
            shifted[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = mask[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
            out |= shifted
    return out


#: Digital X-Ray Image Storage - For Presentation, the SOP class of a skull radiograph.
DX_IMAGE = "1.2.840.10008.5.1.4.1.1.1.1"


def write_dicom(
    path: Path,
    stored=None,
    *,
    sop_class: str = DX_IMAGE,
    syntax: str = "1.2.840.10008.1.2.1",
    patient: tuple[str, str, str] = ("Doe^Jane", "PID-0001", "19700101"),
    **tags: object,
) -> Path:
    """A DICOM file written by pydicom: ``stored`` is ``(H, W)`` or ``(frames, H, W)`` uint16
    (12 bits stored), or None for an object without pixel data; ``syntax`` other than
    Explicit VR Little Endian is encoded by pydicom (RLE, JPEG 2000, ...). ``tags`` are set
    as given (e.g. ``StudyInstanceUID``, ``ViewPosition``); ``patient`` is name, ID, birth date."""
    import numpy as np
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = patient
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "DX"
    for key, value in tags.items():
        setattr(ds, key, value)
    if stored is not None:
        stored = np.asarray(stored, dtype=np.uint16)
        ds.Rows, ds.Columns = stored.shape[-2:]
        if stored.ndim == 3:
            ds.NumberOfFrames = stored.shape[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, tags.get("PhotometricInterpretation", "MONOCHROME2")
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = stored.astype("<u2").tobytes()
        if syntax != ExplicitVRLittleEndian:
            ds.compress(syntax)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def skull_ramp(height: int = 48, width: int = 64):
    """A stored 12-bit image, bright on the left, dark on the right, ``(height, width)`` uint16."""
    import numpy as np

    return np.tile(np.linspace(4000, 100, width), (height, 1)).astype(np.uint16)


#: the study attributes pydicom's FileSet needs for a DICOMDIR record
DICOM_STUDY = {"StudyDate": "20240102", "StudyTime": "101010", "StudyID": "1", "AccessionNumber": "", "StudyDescription": "Skull"}


def write_dicom_sources(folder: Path) -> dict[str, Path]:
    """Two patients: one with a frontal, a lateral and a 3-frame series and a report; one with
    a single image."""
    import numpy as np
    from pydicom import uid
    from pydicom.dataset import Dataset

    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "18748-4", "LN", "Diagnostic imaging report"
    a = ("Doe^Jane", "PID-A", "19700101")
    sources = {
        "front": write_dicom(folder / "front.dcm", skull_ramp(), patient=a, StudyInstanceUID="1.2.826.1.1", SeriesInstanceUID="1.2.826.1.1.1",
                             SeriesNumber=1, InstanceNumber=1, ViewPosition="PA", BodyPartExamined="SKULL", **DICOM_STUDY),
        "side": write_dicom(folder / "side.dcm", skull_ramp()[:, ::-1], patient=a, StudyInstanceUID="1.2.826.1.1", SeriesInstanceUID="1.2.826.1.1.2",
                            SeriesNumber=2, InstanceNumber=1, ViewPosition="LL", BodyPartExamined="SKULL", **DICOM_STUDY),
        "multi": write_dicom(folder / "multi.dcm", np.stack([skull_ramp()] * 3), patient=a, StudyInstanceUID="1.2.826.1.1",
                             SeriesInstanceUID="1.2.826.1.1.3", SeriesNumber=3, InstanceNumber=1, **DICOM_STUDY),
        "report": write_dicom(folder / "report.dcm", sop_class=uid.BasicTextSRStorage, patient=a, Modality="SR", StudyInstanceUID="1.2.826.1.1",
                              SeriesInstanceUID="1.2.826.1.1.4", SeriesNumber=4, InstanceNumber=1, CompletionFlag="COMPLETE",
                              VerificationFlag="UNVERIFIED", ContentDate="20240102", ContentTime="101010", ConceptNameCodeSequence=[code], **DICOM_STUDY),
        "other": write_dicom(folder / "other.dcm", skull_ramp(), patient=("Roe^Richard", "PID-B", "19800202"), StudyInstanceUID="1.2.826.2.1",
                             SeriesInstanceUID="1.2.826.2.1.1", SeriesNumber=1, InstanceNumber=1, **DICOM_STUDY),
    }
    return sources


def write_dicom_disc(tmp_path: Path) -> Path:
    """pydicom's FileSet writes the sources as a disc: ``tmp_path/disc/DICOMDIR`` and PT*/ST*/SE*."""
    from pydicom.fileset import FileSet

    sources = write_dicom_sources(tmp_path / "sources")
    fileset = FileSet()
    for path in sources.values():
        fileset.add(path)
    fileset.write(tmp_path / "disc")
    return tmp_path / "disc"


def skull_like(height: int = 96, width: int = 96):
    """A stored 12-bit head-like X-ray, ``(height, width)`` uint16: a bright vault, dark orbits,
    a jaw arc. Its edges give it the structure a search asks of an X-ray
    (``search.query.xray_structure`` about 0.07); a smooth blob or ramp has none and is refused."""
    import numpy as np

    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    cx, cy = width / 2, height / 2
    r = np.hypot((x - cx) / (0.36 * width), (y - cy) / (0.42 * height))
    image = 1500 + 600 * np.exp(-(r**2)) + 1800 * ((r > 0.86) & (r < 1.0))
    for offset in (-0.15, 0.15):
        image -= 900 * (np.hypot((x - cx - offset * width) / (0.09 * width), (y - cy + 0.02 * height) / (0.08 * height)) < 1)
    jaw = np.hypot((x - cx) / (0.25 * width), (y - cy - 0.3 * height) / (0.1 * height))
    image += 1200 * ((jaw > 0.8) & (jaw < 1.0) & (y > cy + 0.3 * height))
    return np.clip(image, 0, 4095).astype(np.uint16)
