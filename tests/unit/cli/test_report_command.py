"""``crossid report``: export signed or unsigned, ``report verify`` (text and --json, exit status),
``report sign`` for a reviewer, and the password never taken from the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from report_builders import certificate

from crossid_desktop.cases import CaseService
from crossid_desktop.cli import main
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str, Path, object]:
    root = tmp_path_factory.mktemp("report_cli")
    ws = Workspace.open(root / "ws")
    candidates = tuple(Candidate(r, f"S{r}", "", r, f"/g/{r}.png", 0.3 * r, math.exp(-((0.3 * r) ** 2))) for r in (1, 2))
    query = QueryInfo(str(root / "gone.png"), "ab" * 32, "injured_face", {})
    cases = CaseService(ws)
    number = cases.create_case(title="cli", examiner="Jane Examiner").case_number
    cases.record_search(number, SearchResult((query,), "m", "f" * 64, 2, 2, "d" * 64, "subject", candidates, {}), actor="Jane", environment={})
    return ["--workspace", str(ws.root)], number, root, certificate(root)


def test_export_signed_then_verify(setup: tuple, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    args, number, root, certs = setup
    monkeypatch.setenv("SIGN_PASSWORD", certs.password)
    out = root / "signed.pdf"
    assert main([*args, "report", number, "-o", str(out), "--sign", str(certs.p12), "--password-env", "SIGN_PASSWORD"]) == 0
    assert "signed by Jane Examiner" in capsys.readouterr().out
    ca = root / "ca.pem"
    ca.write_bytes(certs.ca_pem)
    assert main([*args, "report", "verify", str(out), "--trust", str(ca)]) == 0
    printed = capsys.readouterr().out
    assert "signature Examiner: Jane Examiner" in printed and "intact and valid; certificate trusted" in printed and "result: OK" in printed
    assert main([*args, "report", "verify", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["signed"] and data["signatures"][0]["intact"] and data["case"] == "checked"
    broken = root / "broken.pdf"
    raw = bytearray(out.read_bytes())
    raw[len(raw) // 3] ^= 0x01
    broken.write_bytes(bytes(raw))
    assert main([*args, "report", "verify", str(broken)]) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_unsigned_report_says_so_and_a_reviewer_signs(setup: tuple, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    args, number, root, certs = setup
    out = root / "plain.pdf"
    assert main([*args, "report", number, "-o", str(out)]) == 0
    assert "(not signed)" in capsys.readouterr().out
    assert main([*args, "report", "verify", str(out)]) == 0
    assert "UNSIGNED" in capsys.readouterr().out
    monkeypatch.setenv("REVIEW_PASSWORD", certs.password)
    assert main([*args, "report", "sign", str(out), "--sign", str(certs.p12), "--password-env", "REVIEW_PASSWORD"]) == 0
    assert "as reviewer" in capsys.readouterr().out
    assert main([*args, "report", "verify", str(out)]) == 0
    assert "signature Reviewer: Jane Examiner" in capsys.readouterr().out


def test_bad_requests_are_one_sentence(setup: tuple, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    args, number, root, certs = setup
    monkeypatch.delenv("NOT_SET", raising=False)
    assert main([*args, "report", number, "-o", str(root / "x.pdf"), "--sign", str(certs.p12), "--password-env", "NOT_SET"]) != 0
    assert "NOT_SET" in capsys.readouterr().err and not (root / "x.pdf").exists()
    monkeypatch.setenv("WRONG", "wrong password")
    assert main([*args, "report", number, "-o", str(root / "x.pdf"), "--sign", str(certs.p12), "--password-env", "WRONG"]) != 0
    assert "password is wrong" in capsys.readouterr().err and not (root / "x.pdf").exists()
    assert main([*args, "report", number, str(root / "y.pdf")]) != 0
    assert "takes no second argument" in capsys.readouterr().err
    assert main([*args, "report", "verify", str(root / "missing.pdf")]) != 0
    assert "cannot be read" in capsys.readouterr().err
