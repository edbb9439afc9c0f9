"""``crossid report``: export a case's PDF report (signed when asked), check a report, or add
a signature to one.

    crossid report CASE [-o OUT.pdf] [--sign CERT.p12 | --pkcs11 MODULE --token LABEL --key LABEL] [--tsa URL]
    crossid report verify REPORT.pdf [--trust CA.pem]
    crossid report sign REPORT.pdf --sign CERT.p12 [--role reviewer] [--tsa URL]

The signer's key is a PKCS#12 file (``--sign``) or sits on a smart card or token reached
through its PKCS#11 module (``--pkcs11``). The certificate's password (or the token's PIN) is
read from the environment variable named by ``--password-env`` or asked for at the terminal;
it is never an argument (arguments are visible to other users).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from crossid_desktop.cases.report import export_report, report_file_name, sign_report
from crossid_desktop.cases.report_verify import ReportCheck, verify_report
from crossid_desktop.cases.signing import ROLES, SignerFile, SigningRequest
from crossid_desktop.cases.signing_token import SignerToken
from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.errors import CaseError, GalleryError
from crossid_desktop.workspace import Workspace

ORDER = 56
ACTIONS = ("verify", "sign")
#: the time-stamping authority used when --tsa is not given
TSA_VARIABLE = "CROSSID_TSA_URL"


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="export a case's PDF report (optionally signed); 'report verify REPORT.pdf' checks one; 'report sign REPORT.pdf' adds a signature",
        description="crossid report CASE exports; crossid report verify REPORT.pdf checks a report; crossid report sign REPORT.pdf --sign CERT.p12 adds a signature.",
    )
    report.add_argument("case", metavar="CASE | verify | sign", help="the case to report on, or the action verify / sign")
    report.add_argument("pdf", metavar="REPORT.pdf", nargs="?", type=Path, default=None, help="with verify or sign: the report file")
    report.add_argument("-o", "--output", type=Path, default=None, help="PDF file (default: <workspace>/reports/<case>.pdf)")
    report.add_argument("--examiner", default=None, help="who exports (default: the case's examiner)")
    report.add_argument("--patient-identifiers", action="store_true", help="print the patient's name, ID and birth date that a DICOM query names (default: withheld)")
    report.add_argument("--sign", type=Path, default=None, metavar="CERT.p12", help="sign with the certificate and key of this PKCS#12 file (.p12, .pfx)")
    report.add_argument("--pkcs11", type=Path, default=None, metavar="MODULE", help="sign with a key on a smart card or token: its PKCS#11 library (.so, .dll, .dylib)")
    report.add_argument("--token", default=None, metavar="LABEL", help="with --pkcs11: the token's label")
    report.add_argument("--key", default=None, metavar="LABEL", help="with --pkcs11: the label of the key and its certificate on the token")
    report.add_argument("--role", choices=ROLES, default=None, help="who signs (default: examiner when exporting, reviewer with 'sign')")
    report.add_argument("--password-env", default=None, metavar="VARIABLE", help="read the certificate's password (or the token's PIN) from this environment variable (default: ask)")
    report.add_argument("--tsa", default=None, metavar="URL", help=f"time-stamping authority for the signature (default: ${TSA_VARIABLE}; none: no time stamp)")
    report.add_argument("--location", default="", help="where the report is signed (shown with the signature)")
    report.add_argument("--trust", type=Path, action="append", default=[], metavar="CA.pem", help="with verify: a certificate (PEM or DER) signers must chain to; repeatable")
    report.add_argument("--json", action="store_true", help="with verify: print one JSON object")
    report.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    if args.case in ACTIONS and args.pdf is not None:
        return run_verify(args) if args.case == "verify" else run_sign(args)
    if args.pdf is not None:
        raise CaseError(f"'crossid report {args.case}' takes no second argument; to check or sign a report, run 'crossid report verify REPORT.pdf' or 'crossid report sign REPORT.pdf'.")
    workspace = Workspace.open(args.workspace)
    out = args.output or workspace.reports_dir / report_file_name(args.case)
    signature = _signature(args, "examiner") if args.sign or args.pkcs11 else None
    try:
        with TextProgress("report") as bar:
            path = export_report(workspace, args.case, out, actor=args.examiner, patient_identifiers=args.patient_identifiers, signature=signature, progress=bar)
    finally:
        if signature is not None:
            signature.credentials.close()
    print(f"report written: {path}" + (f" (signed by {signature.credentials.name})" if signature else " (not signed)"))
    return 0


def run_sign(args: argparse.Namespace) -> int:
    if args.sign is None and args.pkcs11 is None:
        raise CaseError("Give the signer's certificate: crossid report sign REPORT.pdf --sign CERT.p12 (or --pkcs11 MODULE --token LABEL --key LABEL).")
    signature = _signature(args, "reviewer")
    try:
        path = sign_report(args.pdf, signature, workspace=_existing_workspace(args))
    finally:
        signature.credentials.close()
    print(f"report signed by {signature.credentials.name} as {signature.role}: {path}")
    return 0


def _existing_workspace(args: argparse.Namespace) -> Workspace | None:
    """The workspace named (or the default one) when it exists; checking or signing a report
    never creates one."""
    try:
        return Workspace.open(args.workspace, create=False)
    except GalleryError:
        return None


def _signature(args: argparse.Namespace, default_role: str) -> SigningRequest:
    if args.pkcs11 is not None and (not args.token or not args.key):
        raise CaseError("Signing with a token needs its label and the key's label: --pkcs11 MODULE --token LABEL --key LABEL.")
    secret = _secret(args, "PIN of the token" if args.pkcs11 else f"Password of {args.sign}")
    tsa = args.tsa if args.tsa is not None else os.environ.get(TSA_VARIABLE, "")
    role = args.role or default_role
    if args.pkcs11 is not None:
        return SignerToken(args.pkcs11, args.token, args.key, secret, role, tsa=tsa, location=args.location).load()
    return SignerFile(args.sign, secret, role, tsa=tsa, location=args.location).load()


def _secret(args: argparse.Namespace, prompt: str) -> str:
    """The password or PIN: from the named environment variable, else asked at the terminal."""
    if args.password_env:
        if args.password_env not in os.environ:
            raise CaseError(f"The environment variable {args.password_env} that should hold the password or PIN is not set.")
        return os.environ[args.password_env]
    if sys.stdin.isatty():
        return getpass.getpass(f"{prompt}: ")
    raise CaseError("The certificate's password (or the token's PIN) is needed: name the environment variable that holds it with --password-env, or run in a terminal.")


def run_verify(args: argparse.Namespace) -> int:
    anchors = []
    for path in args.trust:
        try:
            anchors.append(path.expanduser().read_bytes())
        except OSError as error:
            raise CaseError(f"The trust anchor {path} cannot be read ({error.strerror or error}).") from error
    check = verify_report(args.pdf, workspace=_existing_workspace(args), trust_anchors=anchors)
    if args.json:
        print(json.dumps(_as_json(check), indent=2, ensure_ascii=False, default=str))
    else:
        _print_check(check, trust_asked=bool(anchors))
    return 0 if check.ok else 1


def _as_json(check: ReportCheck) -> dict:
    data = asdict(check)
    data.update(ok=check.ok, signed=check.signed, signatures=[{**asdict(s), "ok": s.ok} for s in check.signatures])
    return data


def _print_check(check: ReportCheck, *, trust_asked: bool) -> None:
    print(f"report {check.path}  SHA-256 {check.sha256}")
    print(f"case {check.case_number or '?'}")
    if not check.signatures:
        print("signatures: none - this report is UNSIGNED")
    for s in check.signatures:
        state = "intact and valid" if s.intact and s.valid else ("BROKEN: the signed content was changed" if not s.intact else "INVALID signature")
        trust = "" if s.trusted is None else ("; certificate trusted" if s.trusted else "; certificate NOT trusted by the anchors given")
        after = "; CHANGED after signing" if s.changed_after else ""
        stamp = f"; time stamp {s.timestamp[:19].replace('T', ' ')} UTC" + ("" if s.timestamp_ok else " (NOT valid)") if s.timestamp else "; no time stamp (signer's clock " + s.signed_at[:19].replace("T", " ") + ")"
        print(f"signature {s.field}: {s.signer} ({s.subject}; issued by {s.issuer}, serial {s.serial}): {state}{trust}{after}{stamp}")
    if check.signatures and not trust_asked:
        print("  (who the signer is was not checked against a trusted authority: give --trust CA.pem; revocation is not checked)")
    print(f"attached case record: SHA-256 {check.record_sha256}; " + ("checks against its own audit log" if not check.record_problems else "PROBLEMS:"))
    for problem in check.record_problems:
        print(f"  - {problem}")
    for caveat in check.record_caveats:
        print(f"  note: {caveat}")
    print({"same": "record file beside the report: the same", "differs": "record file beside the report: DIFFERS from the attached one",
           "absent": "record file beside the report: not found"}[check.beside])
    if check.case == "checked":
        print(f"case in the workspace: {'agrees' if not check.case_problems else 'PROBLEMS:'}" + (f"; {check.logged_as}" if check.logged_as else ""))
        for problem in check.case_problems:
            print(f"  - {problem}")
    else:
        print(f"case in the workspace: {check.case} (the record was checked on its own)")
    print("result: " + ("OK" if check.ok else "NOT OK") + ("" if check.signed else " (unsigned)"))
