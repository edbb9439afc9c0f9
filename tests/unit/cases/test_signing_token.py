"""Signing with a key on a token through PKCS#11 (SoftHSM stands in for a smart card): the
report's signature verifies and names the token's certificate; a wrong PIN, an unknown token or
an unknown key label is one sentence. Skipped where SoftHSM, pkcs11-tool or python-pkcs11 is
not installed."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from report_builders import certificate, issue_certificate

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.report import export_report
from crossid_desktop.cases.signing import read_signatures
from crossid_desktop.cases.signing_token import SignerToken
from crossid_desktop.errors import CaseError
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace

pytest.importorskip("pkcs11")
MODULES = [Path(p) for p in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so")]
MODULE = next((m for m in MODULES if m.is_file()), None)
if MODULE is None or not shutil.which("softhsm2-util") or not shutil.which("pkcs11-tool"):
    pytest.skip("SoftHSM (softhsm2) and pkcs11-tool (opensc) are not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory):
    """A SoftHSM token 'crossid-test' (PIN 1234) holding the key and certificate 'examiner',
    issued by a throwaway CA. SoftHSM reads its configuration once per process, so one token
    serves the module."""
    from cryptography.hazmat.primitives import serialization

    root = tmp_path_factory.mktemp("token")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    ca = certificate(root)
    key, cert = issue_certificate("Tom Token", ca.ca, ca.ca_key)
    (root / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (root / "cert.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    run = lambda *args: subprocess.run(args, env=env, check=True, capture_output=True)  # noqa: E731
    run("softhsm2-util", "--init-token", "--free", "--label", "crossid-test", "--pin", "1234", "--so-pin", "0000")
    run("softhsm2-util", "--import", str(root / "key.pem"), "--token", "crossid-test", "--label", "examiner", "--id", "01", "--pin", "1234")
    run("pkcs11-tool", "--module", str(MODULE), "--token-label", "crossid-test", "--login", "--pin", "1234",
        "--write-object", str(root / "cert.der"), "--type", "cert", "--label", "examiner", "--id", "01")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        yield root, ca


def _case(root: Path) -> tuple[Workspace, str]:
    ws = Workspace.open(root / "ws")
    candidates = (Candidate(1, "S1", "", 1, "/g/1.png", 0.3, math.exp(-0.09)),)
    cases = CaseService(ws)
    number = cases.create_case(title="token").case_number
    cases.record_search(number, SearchResult((QueryInfo(str(root / "gone.png"), "ab" * 32, "injured_face", {}),), "m", "f" * 64, 1, 1, "d" * 64, "subject", candidates, {}),
                        actor="Tom", environment={})
    return ws, number


def test_report_signed_on_the_token_verifies(token: tuple[Path, object]) -> None:
    root, ca = token
    ws, number = _case(root)
    request = SignerToken(MODULE, "crossid-test", "examiner", "1234").load()
    try:
        pdf = export_report(ws, number, root / "token.pdf", signature=request)
    finally:
        request.credentials.close()
    (signature,) = read_signatures(pdf.read_bytes(), [ca.ca_pem])
    assert signature.ok and signature.trusted and signature.signer == "Tom Token" and signature.field == "Examiner"


def test_token_problems_are_one_sentence(token: tuple[Path, object]) -> None:
    with pytest.raises(CaseError, match="PIN is wrong"):
        SignerToken(MODULE, "crossid-test", "examiner", "9999").load()
    with pytest.raises(CaseError, match="cannot be opened"):
        SignerToken(MODULE, "no-such-token", "examiner", "1234").load()
    with pytest.raises(CaseError, match="holds no key and certificate labelled 'nobody'"):
        SignerToken(MODULE, "crossid-test", "nobody", "1234").load()
    with pytest.raises(CaseError, match="does not exist"):
        SignerToken(token[0] / "missing.so", "crossid-test", "examiner", "1234").load()


def test_cli_signs_with_the_token(token: tuple[Path, object], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from crossid_desktop.cli import main

    root, ca = token
    ws, number = _case(root / "cli")
    monkeypatch.setenv("TOKEN_PIN", "1234")
    out = root / "cli.pdf"
    args = ["--workspace", str(ws.root), "report", number, "-o", str(out), "--pkcs11", str(MODULE), "--token", "crossid-test", "--key", "examiner", "--password-env", "TOKEN_PIN"]
    assert main(args) == 0 and "signed by Tom Token" in capsys.readouterr().out
    assert read_signatures(out.read_bytes(), [ca.ca_pem])[0].ok
    assert main(["--workspace", str(ws.root), "report", number, "-o", str(out), "--pkcs11", str(MODULE), "--password-env", "TOKEN_PIN"]) != 0
    assert "--token LABEL --key LABEL" in capsys.readouterr().err
