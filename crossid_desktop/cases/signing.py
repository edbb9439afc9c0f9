"""Digital signatures of reports: PAdES signatures made and checked with pyHanko.

An examiner (and later, optionally, a reviewer) signs an exported report with their own
certificate, read from a PKCS#12 file (``.p12``/``.pfx``) with its password. The signature is
a PAdES baseline signature (ETSI EN 319 142) in the report's signature field for that role,
drawn where the sign-off section put the box; with a time-stamping authority configured, the
signature carries its time stamp (PAdES B-T), otherwise only the signer's own clock (B-B).

Checking (:func:`read_signatures`) never goes on the network: a certificate is called trusted
only when it chains to a certificate the caller names as a trust anchor, and revocation is
not checked (say so wherever the result is shown). Each signature reports whether the bytes
it covers are unchanged (``intact``), whether the cryptographic signature is valid, whether
anything but later signatures was added after it, and the SHA-256 of the file as it was when
it was signed (its signed revision), which an audit log can hold.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.fonts import clean, spell_undrawable
from crossid_desktop.errors import CaseError

#: the roles that sign a report, and the name of each one's signature field
ROLES = ("examiner", "reviewer")
FIELD_NAMES = {"examiner": "Examiner", "reviewer": "Reviewer"}
#: seconds to wait for a time-stamping authority
TSA_TIMEOUT_S = 20
#: characters of the signer's name the visible signature holds (the report's text has it whole)
STAMP_NAME_CHARS = 60


@dataclass(frozen=True)
class Credentials:
    """A signer's key and certificate, loaded; ``name`` the certificate's common name."""

    signer: Any  # a pyHanko signer (SimpleSigner for a file, PKCS11Signer for a token)
    name: str
    subject: str
    issuer: str
    serial: str
    valid_until: str  # ISO 8601 date
    session: Any = field(default=None, compare=False, repr=False)  # an open PKCS#11 session, closed by :meth:`close`

    def close(self) -> None:
        """Close the token session the key lives in (nothing for a key read from a file)."""
        if self.session is not None:
            self.session.close()


@dataclass(frozen=True)
class SigningRequest:
    """Who signs, in which role, and the time-stamping authority (URL or a pyHanko time
    stamper; None for no time stamp)."""

    credentials: Credentials
    role: str = "examiner"
    tsa: str | Any | None = None
    location: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {self.role!r}")

    def plan(self) -> SignaturePlan:
        """What the report states about this signature."""
        c = self.credentials
        return SignaturePlan(c.name, self.role, c.subject, c.issuer, self.tsa if isinstance(self.tsa, str) else ("configured" if self.tsa else ""))


@dataclass(frozen=True)
class SignerFile:
    """A signer chosen by file: the PKCS#12 certificate, its password (never shown or kept),
    the role, the time-stamping authority URL ("" for none) and where the report is signed.
    :meth:`load` opens the file (in the worker thread, for the window)."""

    certificate: Path
    password: str = field(repr=False)
    role: str = "examiner"
    tsa: str = ""
    location: str = ""

    def load(self) -> SigningRequest:
        """The signing request; :class:`CaseError` when the file or the password is wrong."""
        return SigningRequest(load_pkcs12(self.certificate, self.password), self.role, tsa=self.tsa or None, location=self.location)


@dataclass(frozen=True)
class SignaturePlan:
    """What a report states about the signature made when it is exported: who signs, in which role,
    the certificate, and the time-stamping authority ("" for none)."""

    name: str
    role: str
    subject: str
    issuer: str
    tsa: str = ""


@dataclass(frozen=True)
class SignatureCheck:
    """What :func:`read_signatures` found about one signature.

    ``intact``: the signed bytes are unchanged; ``valid``: the signature over them verifies
    with the certificate it carries; ``trusted``: the certificate chains to a given trust
    anchor (None when none was given); ``changed_after``: something other than a later
    signature or form filling was added after it; ``revision_sha256``: SHA-256 of the file as
    it was when this signature was made.
    """

    field: str
    signer: str
    subject: str
    issuer: str
    serial: str
    signed_at: str  # the signer's own clock, ISO 8601
    timestamp: str  # the time-stamping authority's time, ISO 8601, "" without one
    timestamp_ok: bool | None
    intact: bool
    valid: bool
    trusted: bool | None
    changed_after: bool
    revision_sha256: str

    @property
    def ok(self) -> bool:
        """Intact, valid, nothing changed after it, and trusted when trust was asked about."""
        return self.intact and self.valid and not self.changed_after and self.trusted is not False and self.timestamp_ok is not False


def load_pkcs12(path: str | Path, password: str | None) -> Credentials:
    """A signer from a PKCS#12 file; :class:`CaseError` when the file cannot be read or the
    password is wrong."""
    from pyhanko.sign.signers import SimpleSigner  # pyHanko loads only when a report is signed

    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except OSError as error:
        raise CaseError(f"The certificate file {file} cannot be read ({error.strerror or error}).") from error
    try:
        signer = SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=password.encode("utf-8") if password else None)
    except ValueError as error:
        raise CaseError(f"The certificate file {file} cannot be opened: the password is wrong or it is not a PKCS#12 file (.p12, .pfx).") from error
    return credentials_of(signer)


def credentials_of(signer: Any, session: Any = None) -> Credentials:
    """:class:`Credentials` of a loaded pyHanko signer, named from its certificate."""
    cert = signer.signing_cert
    return Credentials(
        signer=signer, name=_common_name(cert.subject) or cert.subject.human_friendly, subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly, serial=format(cert.serial_number, "x"), valid_until=cert.not_valid_after.date().isoformat(),
        session=session,
    )


def _common_name(name: Any) -> str:
    return str(name.native.get("common_name", "")) if hasattr(name, "native") else ""


def sign(pdf: bytes, request: SigningRequest, *, reason: str) -> bytes:
    """``pdf`` with a PAdES signature of ``request`` in the role's signature field, added as an
    incremental update (earlier signatures stay valid)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # pyHanko loads only when a report is signed
    from pyhanko.sign import fields, signers  # pyHanko loads only when a report is signed
    from pyhanko.sign.timestamps import HTTPTimeStamper  # pyHanko loads only when a report is signed

    stamper = HTTPTimeStamper(request.tsa, timeout=TSA_TIMEOUT_S) if isinstance(request.tsa, str) and request.tsa else request.tsa
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAMES[request.role], subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256", reason=reason,
        location=request.location or None, name=request.credentials.name,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    pdf_signer = signers.PdfSigner(meta, signer=request.credentials.signer, timestamper=stamper, stamp_style=_stamp_style())
    try:
        with _quiet_pyhanko():
            return pdf_signer.sign_pdf(writer, appearance_text_params=stamp_words(request.credentials.name, request.role)).getvalue()
    except Exception as error:  # pyHanko raises many types (network, TSA, PDF); one sentence for the user
        if stamper is not None and _is_timestamp_error(error):
            raise CaseError(f"The time-stamping authority {request.tsa} did not give a time stamp ({_first_line(error)}); the report was not written.") from error
        raise CaseError(f"The report could not be signed ({_first_line(error)}).") from error


def stamp_words(name: str, role: str) -> dict[str, str]:
    """The visible signature's text parameters: the signer's name as the standard font draws
    it (one line, at most :data:`STAMP_NAME_CHARS` characters, characters beyond Latin-1
    spelled by name) and the role."""
    drawn = " ".join(spell_undrawable(clean(name), drawable=lambda code: 32 <= code < 256).split())
    if len(drawn) > STAMP_NAME_CHARS:
        drawn = drawn[: STAMP_NAME_CHARS - 3] + "..."
    return {"signer": drawn, "role": text.SIGNATURE_BOX[role].lower()}


def _stamp_style() -> Any:
    """The visible signature: its words in a thin frame, without pyHanko's logo behind them."""
    from pyhanko.pdf_utils.text import TextBoxStyle  # pyHanko loads only when a report is signed
    from pyhanko.stamp import TextStampStyle  # pyHanko loads only when a report is signed

    template = text.SIGNATURE_STAMP.replace("%", "%%").format(signer="%(signer)s", role="%(role)s", time="%(ts)s")
    return TextStampStyle(stamp_text=template, background=None, border_width=1, timestamp_format="%Y-%m-%d %H:%M %Z",
                          text_box_style=TextBoxStyle(font_size=9, leading=12))


def _is_timestamp_error(error: BaseException) -> bool:
    text = f"{type(error).__module__}.{type(error).__name__} {error}".lower()
    return any(word in text for word in ("timestamp", "aiohttp", "requests", "connection", "timeout", "tsa"))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """pyHanko logs each untrusted certificate path with a traceback; the checks here report
    trust themselves."""
    logger = logging.getLogger("pyhanko")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_signatures(pdf: bytes, trust_anchors: Sequence[bytes] = ()) -> list[SignatureCheck]:
    """Every signature of ``pdf``, checked (offline; see the module docstring).
    ``trust_anchors``: certificates (PEM or DER) that a signer must chain to be called trusted."""
    from pyhanko.keys import load_certs_from_pemder_data  # pyHanko loads only when a report is checked
    from pyhanko.pdf_utils.reader import PdfFileReader  # pyHanko loads only when a report is checked
    from pyhanko.sign.validation import validate_pdf_signature  # pyHanko loads only when a report is checked
    from pyhanko_certvalidator import ValidationContext  # pyHanko loads only when a report is checked

    roots = [cert for data in trust_anchors for cert in load_certs_from_pemder_data(data)]
    checks = []
    with _quiet_pyhanko():
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        for embedded in reader.embedded_signatures:
            context = ValidationContext(trust_roots=roots, allow_fetching=False)
            status = validate_pdf_signature(embedded, signer_validation_context=context, ts_validation_context=context)
            checks.append(_check(embedded, status, pdf, bool(roots)))
    return checks


def _check(embedded: Any, status: Any, pdf: bytes, trust_asked: bool) -> SignatureCheck:
    from pyhanko.sign.diff_analysis import ModificationLevel  # pyHanko loads only when a report is checked
    from pyhanko.sign.validation.status import SignatureCoverageLevel  # pyHanko loads only when a report is checked

    cert = status.signing_cert
    start, length = embedded.byte_range[2], embedded.byte_range[3]
    stamp = status.timestamp_validity
    allowed = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)
    changed = status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION) or (
        status.coverage != SignatureCoverageLevel.ENTIRE_FILE and status.modification_level not in allowed
    )
    return SignatureCheck(
        field=str(embedded.field_name), signer=_common_name(cert.subject) or cert.subject.human_friendly, subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly, serial=format(cert.serial_number, "x"),
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else "",
        timestamp=stamp.timestamp.isoformat() if stamp is not None else "",
        timestamp_ok=(bool(stamp.intact and stamp.valid) and (stamp.trusted or not trust_asked)) if stamp is not None else None,
        intact=bool(status.intact), valid=bool(status.valid), trusted=bool(status.trusted) if trust_asked else None,
        changed_after=bool(changed), revision_sha256=hashlib.sha256(pdf[: start + length]).hexdigest(),
    )
