"""``crossid case ...``: list, show, verify, new, mark, note (reports: ``crossid report``)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.marks import Mark
from crossid_desktop.errors import CaseError
from crossid_desktop.workspace import Workspace

ORDER = 55


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("case", help="cases: list, show, verify the audit log, open, mark candidates, notes")
    commands = parser.add_subparsers(dest="case_command", metavar="ACTION", required=True)
    listing = commands.add_parser("list", help="list the workspace's cases")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(run=run_list)
    show = commands.add_parser("show", help="a case's details, latest candidates, marks and audit log")
    show.add_argument("case", metavar="CASE")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(run=run_show)
    verify = commands.add_parser("verify", help="recompute a case's hash-chained audit log; exits non-zero when it is broken")
    verify.add_argument("case", metavar="CASE")
    verify.set_defaults(run=run_verify)
    new = commands.add_parser("new", help="open a new case")
    new.add_argument("--number", default=None, help="case number (default: generated, CID-<year>-<nnnn>)")
    new.add_argument("--title", default="")
    new.add_argument("--examiner", default="")
    new.add_argument("--agency", default="")
    new.set_defaults(run=run_new)
    mark = commands.add_parser("mark", help="mark a candidate as of interest or excluded (none clears), with a note")
    mark.add_argument("case", metavar="CASE")
    mark.add_argument("subject", metavar="SUBJECT")
    mark.add_argument("mark", choices=[m.value for m in Mark])
    mark.add_argument("--note", default="")
    mark.add_argument("--examiner", default=None, help="who marks (default: the operating-system user)")
    mark.set_defaults(run=run_mark)
    note = commands.add_parser("note", help="replace the case's general notes")
    note.add_argument("case", metavar="CASE")
    note.add_argument("text")
    note.add_argument("--examiner", default=None)
    note.set_defaults(run=run_note)


def _service(args: argparse.Namespace):
    return CaseService(Workspace.open(args.workspace))


def run_list(args: argparse.Namespace) -> int:
    cases = _service(args).list()
    if args.json:
        print(json.dumps({"cases": [asdict(c) for c in cases]}, indent=2, ensure_ascii=False))
        return 0
    if not cases:
        print("No cases yet (crossid search QUERY --report OUT.pdf opens one).")
        return 0
    print(f"{'case':<20} {'updated (UTC)':<20} {'searches':>8}  {'examiner':<20} title")
    for c in cases:
        print(f"{c.case_number:<20} {c.updated[:19].replace('T', ' '):<20} {c.searches:>8}  {c.examiner[:20]:<20} {c.title}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    service = _service(args)
    verification = service.verify(args.case)
    if not verification.ok:
        field = f" (field {verification.field})" if verification.field else ""
        print(f"WARNING: the audit log of case {args.case} does not verify: broken at entry {verification.first_broken_seq}{field}: {verification.reason}. "
              "What follows may have been changed outside the application.", file=sys.stderr)
    case = service.get(args.case)
    entries = service.audit_log(args.case)
    if args.json:
        data = asdict(case)
        data["audit_log"] = [asdict(e) for e in entries]
        data["verification"] = asdict(verification)
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return 0
    print(f"case {case.case_number}: {case.title}")
    print(f"examiner {case.examiner or '-'}, agency {case.agency or '-'}; opened {case.created[:19]}, changed {case.updated[:19]} (UTC)")
    if case.known_identity:
        k = case.known_identity
        print(f"known identity: {k.subject_id or ''} {k.name} {('(' + k.note + ')') if k.note else ''}".rstrip())
    search = case.latest_search
    if search is None:
        print("no search recorded")
    else:
        r = search.result
        for q in r.queries:
            print(f"query {q.path}  sha256 {q.sha256}")
        print(f"matcher {r.matcher_name} ({r.matcher_fingerprint[:12]}), gallery {r.gallery_subjects} subjects, digest {r.gallery_digest[:12]}; {len(case.searches)} search(es)")
        for c in r.candidates:
            mark = case.mark_of(c.subject_id)
            flag = f"  [{mark.mark.label}]" if mark and mark.mark is not Mark.NONE else ""
            lr = f"  LR {c.likelihood_ratio:.3g}" if c.likelihood_ratio is not None else ""
            print(f"{c.rank:>4}  {c.subject_id:<14} {c.name[:24]:<24} {c.confidence * 100:6.1f}%{lr}{flag}")
    if case.notes:
        print(f"notes: {case.notes}")
    print(f"audit log: {len(entries)} entries, {'intact (every stored field checked)' if verification.ok else 'BROKEN: ' + verification.reason}")
    if verification.caveat:
        print(f"note: {verification.caveat}")
    for e in entries:
        print(f"  {e.seq:>3}  {e.timestamp[:19]}  {e.actor:<16} {e.action:<20} {e.hash[:12]}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    result = _service(args).verify(args.case)
    if not result.ok:
        field = f" (field {result.field})" if result.field else ""
        raise CaseError(f"The audit log of case {args.case} is broken at entry {result.first_broken_seq}{field}: {result.reason}.")
    print(f"case {args.case}: audit log intact ({result.entries} entries), every stored field checked; head hash {result.head_hash}")
    if result.caveat:
        print(f"note: {result.caveat}")
    return 0


def run_new(args: argparse.Namespace) -> int:
    case = _service(args).create_case(case_number=args.number, title=args.title, examiner=args.examiner, agency=args.agency)
    print(case.case_number)
    return 0


def run_mark(args: argparse.Namespace) -> int:
    _service(args).mark(args.case, args.subject, args.mark, args.note, actor=args.examiner)
    print(f"case {args.case}: {args.subject} marked {args.mark.replace('_', ' ')}")
    return 0


def run_note(args: argparse.Namespace) -> int:
    _service(args).set_notes(args.case, args.text, actor=args.examiner)
    print(f"case {args.case}: notes saved")
    return 0
