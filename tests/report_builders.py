"""Cases the report tests export, and certificates made at test time.

``xray_case`` and ``injured_case`` build a workspace holding one case whose latest search is
recorded as the search service returns it, over a small gallery of rendered synthetic people
(the project's own generator): an X-ray query (frontal and lateral, or frontal alone) whose
candidates carry skull-face correspondence records, and an injured-face query with a map of
unreliable regions. The matcher cards are the bundled models' own cards. ``certificate``
makes a throwaway certificate authority and a signer's PKCS#12 file; ``time_stamper`` a
time-stamping authority of that CA that answers locally (no private key is ever committed).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.report_evidence import mask_digest
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.io import sha256_of_file
from crossid_desktop.matching.calibration import verbal_scale
from crossid_desktop.paths import resource_path
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace

SUBJECTS = {"S0001": "Ana Bele Dvořák", "S0002": "Bogdan Иванов", "S0003": "Chandra प्रिया", "S0004": "Dora Ñúñez"}
LANDMARKS = ("nasion_soft", "exocanthion_right", "exocanthion_left", "pronasale", "subnasale", "labrale_superius", "stomion", "menton_soft")


def _card(name: str) -> dict[str, Any]:
    return json.loads(resource_path("models", f"{name}.json").read_text(encoding="utf-8"))


def _render(root: Path, n: int) -> dict[str, dict[str, Path]]:
    """``n`` synthetic people's X-rays and frontal photos as files: ``{subject: {name: path}}``."""
    from crossid_desktop.synth.cohort import CohortConfig, render_subject

    config = CohortConfig(n_subjects=n, seed=7, image_size=192, extra_gallery_photos=0, injured_per_subject=0)
    people: dict[str, dict[str, Path]] = {}
    for index in range(n):
        _, files = render_subject(config, index, None)
        for relative, data in files.items():
            if relative.startswith("s2f/"):
                path = root / "people" / relative[4:]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                people.setdefault(path.parent.name, {})[path.stem] = path
    return people


def _gallery(ws: Workspace, people: dict[str, dict[str, Path]], card: dict[str, Any], fingerprint: str) -> dict[str, int]:
    """Enrol each person's frontal photo (a centre crop as the aligned thumbnail); image ids."""
    import cv2

    from crossid_desktop.gallery.enrol import encode_png

    ids = {}
    with GalleryStore(ws.db_path) as store:
        store.register_matcher(fingerprint, name=card["name"], card=card)
        for subject_id, files in people.items():
            photo = files["face_front"]
            store.upsert_subject(subject_id, name=SUBJECTS.get(subject_id, subject_id))
            crop = cv2.cvtColor(cv2.resize(cv2.imread(str(photo)), (256, 256)), cv2.COLOR_BGR2RGB)
            record = store.add_image(subject_id, path=photo, sha256=sha256_of_file(photo), view="front", width=192, height=192,
                                     thumbnail_png=encode_png(crop), alignment="centre-crop")
            ids[subject_id] = record.image_id
    return ids


def _overlay(xray: Path, photo: Path) -> tuple[str, str]:
    """A picture of the X-ray laid over the photo (a plain blend) as base64 PNG, and its SHA-256."""
    import cv2

    face = cv2.resize(cv2.imread(str(photo)), (256, 256))
    bone = cv2.resize(cv2.imread(str(xray)), (256, 256))
    ok, png = cv2.imencode(".png", cv2.addWeighted(face, 0.55, bone, 0.45, 0))
    assert ok
    return base64.b64encode(png.tobytes()).decode("ascii"), hashlib.sha256(png.tobytes()).hexdigest()


def craniofacial_record(status: str, views: dict[str, Path], photo: Path, *, overlay: bool = True) -> dict[str, Any]:
    """A skull-face correspondence record (the format of ``report_evidence``) for each view."""
    out = []
    for n, (view, xray) in enumerate(views.items()):
        residuals = [1.5 + 0.4 * k + n for k in range(len(LANDMARKS))]
        if status == "inconsistent":
            residuals[3], residuals[6] = 9.8, 8.1
        rows = [{"name": name, "predicted": [100.0 + k, 120.0], "measured": [101.0 + k, 121.0], "residual": r, "tolerance": 6.0}
                for k, (name, r) in enumerate(zip(LANDMARKS, residuals))]
        if status == "not assessable":
            rows = []
        entry: dict[str, Any] = {"view": view, "status": status, "unit": "mm", "landmarks": rows,
                                 "excluding": ["pronasale", "stomion"] if status == "inconsistent" else [],
                                 "reasons": ["the chin is hidden in the photo"] if status == "not assessable" else []}
        if overlay and status != "not assessable":
            entry["overlay_png_base64"], entry["overlay_sha256"] = _overlay(xray, photo)
        out.append(entry)
    return {"views": out}


def xray_case(root: Path, *, both_views: bool = True, craniofacial: bool = True) -> tuple[Workspace, str]:
    """A case whose search was a frontal (and lateral) skull X-ray of S0001 over 4 people."""
    people = _render(root, 4)
    ws = Workspace.open(root / "ws")
    card = _card("skull2face")
    fingerprint = "a" * 64
    ids = _gallery(ws, people, card, fingerprint)
    views = {"front": people["S0001"]["xray_front"], **({"side": people["S0001"]["xray_side"]} if both_views else {})}
    queries = tuple(QueryInfo(str(p), sha256_of_file(p), f"xray_{v}", {"format": "PNG", "width": 192, "height": 192, "bit_depth": 8, "dicom": {}})
                    for v, p in views.items())
    statuses = ["consistent", "inconsistent", "not assessable", None]
    candidates = []
    for rank, subject in enumerate(SUBJECTS, start=1):
        d = 0.55 + 0.12 * rank
        lr = None if both_views else math.exp(2.5 * -d + 3.3)
        record = craniofacial_record(statuses[rank - 1], views, people[subject]["face_front"]) if craniofacial and statuses[rank - 1] else None
        candidates.append(Candidate(rank, subject, SUBJECTS[subject], ids[subject], str(people[subject]["face_front"]), d, math.exp(-d * d), lr,
                                    verbal_scale(lr) if lr is not None else None, craniofacial=record))
    result = SearchResult(queries, card["name"], fingerprint, 4, 4, "d" * 64, "subject", tuple(candidates), card["preprocessing"], {"total": 240.0})
    return ws, _record(ws, result, card, title="Unknown male, river bank", marks={"S0002": ("excluded", "Nose too long for the skull.")})


def injured_case(root: Path, *, mask: bool = True) -> tuple[Workspace, str]:
    """A case whose search was an injured-face photo (S0001's) over 4 people, with the parts
    of the face the search left out."""
    people = _render(root, 4)
    ws = Workspace.open(root / "ws")
    card = _card("injured")
    fingerprint = "b" * 64
    ids = _gallery(ws, people, card, fingerprint)
    photo = people["S0001"]["face_front"]
    query = QueryInfo(str(photo), sha256_of_file(photo), "injured_face", {"format": "PNG", "width": 192, "height": 192, "bit_depth": 8, "dicom": {}},
                      ignored=mask_record(64) if mask else None)
    candidates = []
    for rank, subject in enumerate(SUBJECTS, start=1):
        d = 0.35 + 0.15 * rank
        lr = math.exp(9.09 * -d + 7.92)
        candidates.append(Candidate(rank, subject, SUBJECTS[subject], ids[subject], str(people[subject]["face_front"]), d, math.exp(-d * d), lr, verbal_scale(lr)))
    result = SearchResult((query,), card["name"], fingerprint, 4, 4, "e" * 64, "subject", tuple(candidates), card["preprocessing"], {"total": 180.0})
    return ws, _record(ws, result, card, title="Injured woman, hospital 3", marks={"S0003": ("of_interest", "Same scar on the chin; ears alike.")})


def mask_record(size: int) -> dict[str, Any]:
    """A map of unreliable regions (the format of ``QueryInfo.ignored``): the subject's left eye
    and cheek of a ``size`` x ``size`` aligned crop."""
    import numpy as np
    from PIL import Image

    mask = np.zeros((size, size), bool)
    mask[int(0.30 * size): int(0.62 * size), int(0.55 * size): int(0.85 * size)] = True
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buffer, format="PNG")
    return {"source": "detected", "fraction": round(float(mask.mean()), 4), "size": [size, size], "sha256": mask_digest(mask),
            "png_base64": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _record(ws: Workspace, result: SearchResult, card: dict[str, Any], *, title: str, marks: dict[str, tuple[str, str]]) -> str:
    from crossid_desktop.cases.records import card_summary

    cases = CaseService(ws)
    number = cases.create_case(title=title, examiner="Łukasz Nowak", agency="Forensic Unit 4").case_number
    environment = {"crossid_desktop": "0.1.0", "python": "3.11.7", "torch": "2.4", "numpy": "2.1", "platform": "Linux-6.1-x86_64", "cuda_device": None}
    cases.record_search(number, result, actor="Łukasz Nowak", matcher_card=card_summary(card), environment=environment)
    for subject, (mark, note) in marks.items():
        cases.mark(number, subject, mark, note, actor="Łukasz Nowak")
    cases.set_notes(number, "Query received from the coroner's office on 3 March.", actor="Łukasz Nowak")
    return number


@dataclass(frozen=True)
class Certificates:
    """A throwaway CA (PEM) and a signer's PKCS#12 file with its password."""

    ca_pem: bytes
    p12: Path
    password: str
    ca: Any
    ca_key: Any


def certificate(folder: Path, name: str = "Jane Examiner", password: str = "correct horse", *, ca: Certificates | None = None) -> Certificates:
    """A signer's certificate issued by a new CA (or by ``ca``'s), in a PKCS#12 file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    ca_key, ca_cert = (ca.ca_key, ca.ca) if ca is not None else issue_certificate("CrossID Test CA", None, None, is_ca=True)
    key, cert = issue_certificate(name, ca_cert, ca_key)
    path = folder / f"{name.replace(' ', '_')}.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(name.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())))
    return Certificates(ca_cert.public_bytes(serialization.Encoding.PEM), path, password, ca_cert, ca_key)


def time_stamper(ca: Certificates) -> Any:
    """pyHanko's local time-stamping authority with an RSA certificate of ``ca`` (the local one signs with RSA only)."""
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from pyhanko.keys import load_private_key_from_pemder_data
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key, cert = issue_certificate("CrossID Test TSA", ca.ca, ca.ca_key, rsa_key=True, usage=ExtendedKeyUsageOID.TIME_STAMPING)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return DummyTimeStamper(tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)), tsa_key=load_private_key_from_pemder_data(pem, None))


def issue_certificate(name: str, issuer: Any, issuer_key: Any, *, is_ca: bool = False, rsa_key: bool = False, usage: Any = None) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Forensic Unit 4")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.subject if issuer is not None else subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=not is_ca, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=is_ca, crl_sign=is_ca, encipher_only=False, decipher_only=False), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=True)
    return key, builder.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())
