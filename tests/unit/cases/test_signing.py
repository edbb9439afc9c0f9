"""Digital signatures of reports: an examiner signs at export (PAdES, with a time stamp when a
time-stamping authority is configured), a reviewer adds a signature later, and
``verify_report`` checks the signatures, the attached record and the case. The certificates are
made here, at test time; a changed byte, a changed record file or a changed case is found."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_builders import certificate, time_stamper

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.report import export_report, sign_report
from crossid_desktop.cases.report_record import record_path_for
from crossid_desktop.cases.report_verify import verify_report
from crossid_desktop.cases.signing import STAMP_NAME_CHARS, SignerFile, SigningRequest, load_pkcs12, read_signatures, stamp_words
from crossid_desktop.errors import CaseError
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str, Path]:
    root = tmp_path_factory.mktemp("signing")
    ws = Workspace.open(root / "ws")
    candidates = tuple(Candidate(r, f"S{r}", f"Name {r}", r, f"/g/{r}.png", 0.3 * r, math.exp(-((0.3 * r) ** 2))) for r in (1, 2, 3))
    query = QueryInfo(str(root / "gone.png"), "ab" * 32, "injured_face", {"format": "PNG"})
    cases = CaseService(ws)
    number = cases.create_case(title="to sign", examiner="Jane Examiner").case_number
    cases.record_search(number, SearchResult((query,), "m", "f" * 64, 3, 3, "d" * 64, "subject", candidates, {}), actor="Jane Examiner", environment={"python": "3.11"})
    cases.mark(number, "S2", "of_interest", "ears alike", actor="Jane Examiner")
    return ws, number, root


@pytest.fixture(scope="module")
def signed(case: tuple[Workspace, str, Path]) -> tuple[Path, object]:
    ws, number, root = case
    certs = certificate(root)
    request = SigningRequest(load_pkcs12(certs.p12, certs.password), "examiner", tsa=time_stamper(certs), location="Lab 4")
    return export_report(ws, number, root / "signed.pdf", signature=request), certs


def test_signed_at_export_verifies_with_time_stamp_and_trust(case: tuple, signed: tuple) -> None:
    ws, number, _ = case
    pdf, certs = signed
    (sig,) = read_signatures(pdf.read_bytes(), [certs.ca_pem])
    assert sig.field == "Examiner" and sig.signer == "Jane Examiner" and "CrossID Test CA" in sig.issuer
    assert sig.intact and sig.valid and sig.trusted and not sig.changed_after and sig.ok
    assert sig.timestamp and sig.timestamp_ok
    check = verify_report(pdf, workspace=ws, trust_anchors=[certs.ca_pem])
    assert check.ok and check.signed and check.beside == "same" and check.case == "checked"
    assert check.logged_as.startswith("entry ") and "this file" in check.logged_as
    entry = CaseService(ws).audit_log(number)[-1]
    assert entry.action == "report_exported" and entry.details_dict()["record_sha256"] == check.record_sha256
    assert entry.details_dict()["signatures"][0].startswith("examiner: Jane Examiner")
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "digitally signed by Jane Examiner as examiner" in " ".join(text.split())


def test_untrusted_issuer_and_unsigned_reports_are_said(case: tuple, signed: tuple, tmp_path: Path) -> None:
    ws, number, root = case
    pdf, _ = signed
    other = certificate(tmp_path, name="Someone Else")  # a certificate authority of its own
    (sig,) = read_signatures(pdf.read_bytes(), [other.ca_pem])
    assert sig.intact and sig.valid and sig.trusted is False and not sig.ok
    (sig,) = read_signatures(pdf.read_bytes())
    assert sig.trusted is None and sig.ok  # trust not asked: reported as not checked
    unsigned = export_report(ws, number, root / "unsigned.pdf")
    check = verify_report(unsigned, workspace=ws)
    assert check.ok and not check.signed and check.signatures == ()
    words = " ".join(" ".join(p.extract_text() for p in PdfReader(unsigned).pages).split())
    assert "was not digitally signed when it was exported" in words
    assert "7. Limitations" in words and "without conjuncts" not in words  # no text here needs shaping


def test_a_changed_byte_breaks_the_signature(case: tuple, signed: tuple, tmp_path: Path) -> None:
    ws, _, _ = case
    pdf, certs = signed
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the signed range (the signature value sits near the end of the first revision)
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    record_path_for(changed).write_bytes(record_path_for(pdf).read_bytes())
    (sig,) = read_signatures(bytes(data), [certs.ca_pem])
    assert not sig.intact and not sig.ok
    check = verify_report(changed, workspace=ws, trust_anchors=[certs.ca_pem])
    assert not check.ok and any("records no export of this file" in p for p in check.case_problems)


def test_changed_record_file_beside_and_changed_case_are_found(case: tuple, signed: tuple, tmp_path: Path) -> None:
    ws, number, _ = case
    pdf, certs = signed
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(pdf.read_bytes())
    record = record_path_for(pdf).read_bytes()
    record_path_for(copy).write_bytes(record.replace(b"ears alike", b"ears differ"))
    check = verify_report(copy, workspace=ws, trust_anchors=[certs.ca_pem])
    assert check.beside == "differs" and not check.ok
    record_path_for(copy).write_bytes(record)
    assert verify_report(copy, workspace=ws, trust_anchors=[certs.ca_pem]).ok
    db = sqlite3.connect(ws.db_path)  # someone edits the stored mark afterwards
    db.execute("UPDATE case_marks SET note = 'ears differ' WHERE case_number = ?", (number,))
    db.commit()
    try:
        check = verify_report(copy, workspace=ws, trust_anchors=[certs.ca_pem])
        assert not check.ok and any("does not verify" in p for p in check.case_problems)
        assert all(s.ok for s in check.signatures) and not check.record_problems  # the report itself is still intact
    finally:
        db.execute("UPDATE case_marks SET note = 'ears alike' WHERE case_number = ?", (number,))
        db.commit()
        db.close()


def test_reviewer_signs_later_and_both_signatures_hold(case: tuple, signed: tuple, tmp_path: Path) -> None:
    ws, number, _ = case
    pdf, certs = signed
    copy = tmp_path / "reviewed.pdf"
    copy.write_bytes(pdf.read_bytes())
    record_path_for(copy).write_bytes(record_path_for(pdf).read_bytes())
    reviewer = certificate(tmp_path, name="Rita Reviewer", password="pw2", ca=certs)
    sign_report(copy, SignerFile(reviewer.p12, "pw2", "reviewer").load(), workspace=ws)
    examiner, review = read_signatures(copy.read_bytes(), [certs.ca_pem])
    assert (examiner.field, review.field) == ("Examiner", "Reviewer") and review.signer == "Rita Reviewer"
    assert examiner.ok and review.ok and not examiner.changed_after  # adding a signature is not a change of content
    assert examiner.revision_sha256 != review.revision_sha256
    check = verify_report(copy, workspace=ws, trust_anchors=[certs.ca_pem])
    assert check.ok and "report signed" in check.logged_as
    assert CaseService(ws).audit_log(number)[-1].action == "report_signed"


def test_wrong_password_and_missing_file_are_one_sentence(tmp_path: Path) -> None:
    certs = certificate(tmp_path)
    with pytest.raises(CaseError, match="password is wrong"):
        load_pkcs12(certs.p12, "not it")
    with pytest.raises(CaseError, match="cannot be read"):
        load_pkcs12(tmp_path / "missing.p12", "x")
    with pytest.raises(CaseError, match="carries no case record"):
        verify_report(_plain_pdf(tmp_path / "plain.pdf"))


def _plain_pdf(path: Path) -> Path:
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path))
    canvas.drawString(100, 700, "not a report")
    canvas.save()
    return path


def test_unreachable_time_stamping_authority_writes_nothing(case: tuple, tmp_path: Path) -> None:
    ws, number, _ = case
    certs = certificate(tmp_path)
    before = len(CaseService(ws).audit_log(number))
    request = SignerFile(certs.p12, certs.password, tsa="http://127.0.0.1:9/").load()  # the discard port: refused at once
    with pytest.raises(CaseError, match="time-stamping authority http://127.0.0.1:9/ did not give a time stamp"):
        export_report(ws, number, tmp_path / "stamped.pdf", signature=request)
    assert not (tmp_path / "stamped.pdf").exists() and not record_path_for(tmp_path / "stamped.pdf").exists()
    assert len(CaseService(ws).audit_log(number)) == before


def test_visible_signature_names_the_signer_in_the_examiner_box(signed: tuple) -> None:
    pdf, _ = signed
    reader = PdfReader(pdf)
    widgets = [a.get_object() for page in reader.pages for a in page.get("/Annots", [])]
    (box,) = [w for w in widgets if w.get("/T") == "Examiner"]
    appearance = box["/AP"]["/N"].get_object()
    drawn = appearance.get_data() + b"".join(x.get_object().get_data() for x in appearance.get("/Resources", {}).get("/XObject", {}).values())
    assert b"Signed digitally by Jane Examiner" in drawn and b"as examiner" in drawn


def test_stamp_words_are_one_latin_line() -> None:
    words = stamp_words("李小龍 Zoë\u202e O'Brien\n" + "x" * 200, "reviewer")
    assert words["role"] == "reviewer"
    assert words["signer"].startswith("[U+674E U+5C0F U+9F8D] Zoë[right-to-left override] O'B")
    assert len(words["signer"]) == STAMP_NAME_CHARS and words["signer"].endswith("...")
    assert all(32 <= ord(ch) < 256 for ch in words["signer"])


def test_a_signer_name_in_any_script_signs_and_reads_back(case: tuple, tmp_path: Path) -> None:
    ws, number, _ = case
    name = "李小龍 Zoë \u202eevil 👩\u200d👩\u200d👧"
    certs = certificate(tmp_path, name=name)
    pdf = export_report(ws, number, tmp_path / "named.pdf", signature=SignerFile(certs.p12, certs.password).load())
    (sig,) = read_signatures(pdf.read_bytes())
    assert sig.signer == name and sig.intact and sig.valid
    words = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "Name: [U+674E U+5C0F U+9F8D] Zoë" in words  # the box's line, CJK spelled by name for the report's fonts
