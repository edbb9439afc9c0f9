"""The case record a report carries: the case as stored and its audit log, as one JSON file.

The record is embedded in the report's PDF (an embedded file) and written beside it. It holds
every stored row of the case (the case's own row, its searches, its marks, the examiner's
landmark corrections: each column as stored), every entry of its audit log, readable copies of each search's result, matcher card
and environment, and the complete model card of the matcher the gallery holds. Because the
audit chain seals every column of every row (:mod:`crossid_desktop.cases.integrity`), the
record can be checked on its own, without the workspace (:func:`check_record`): the chain is
recomputed, every row compared with what the chain sealed, and the landmark corrections
with the log's replay of them (:mod:`crossid_desktop.cases.landmark_log`). With the workspace,
:func:`compare_with_log` checks that the record's chain is the case's chain as far as it goes.

A DICOM query's patient identifiers are left out of the record when the report withholds them
(replaced by the SHA-256 of what was withheld); that search's result can then be checked only
against the workspace, and :func:`check_record` says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import crossid_desktop
from crossid_desktop.cases import audit, integrity, landmark_log
from crossid_desktop.cases.records import card_summary

RECORD_FORMAT = "crossid-case-record"
RECORD_VERSION = 1
#: the record's file name inside the PDF; beside the PDF it is ``<report>.record.json``
EMBEDDED_NAME = "case-record.json"
#: what stands for withheld patient identifiers
WITHHELD = "withheld from this report"
#: a search row's ``result`` column when the record keeps it once, as ``searches[].result``
RESULT_IN_SEARCHES = "canonical JSON of searches[].result"


def record_path_for(pdf: Any) -> Any:
    """The record's file beside a report: ``REPORT.pdf`` -> ``REPORT.record.json``."""
    return pdf.with_name(pdf.stem + ".record.json")


def build_record(
    case_number: str, rows: Mapping[str, Sequence[Mapping[str, Any]]], entries: Sequence[audit.AuditEntry], *,
    generated: str, model_card: Mapping[str, Any] | None, patient_identifiers: bool,
) -> dict[str, Any]:
    """The record of a case as :meth:`CaseService.snapshot` read it (see the module docstring)."""
    rows = {table: [dict(r) for r in found] for table, found in rows.items()}
    withheld = []
    searches = []
    for row in rows.get("case_searches", []):
        text, digest = (row["result"], "") if patient_identifiers else _withhold_patient(row["result"])
        if digest:
            withheld.append({"search_id": row["search_id"], "patient_sha256": digest})
        result = json.loads(text)
        if canonical(result) == text:  # the stored text is the canonical form of the copy: kept once
            row["result"] = RESULT_IN_SEARCHES
        else:
            row["result"] = text
        searches.append({"search_id": row["search_id"], "result": result, "matcher_card": _json(row["matcher_card"]), "environment": _json(row["environment"])})
    return {
        "format": RECORD_FORMAT, "format_version": RECORD_VERSION, "case_number": case_number, "generated": generated,
        "software": {"crossid_desktop": crossid_desktop.__version__},
        "rows": rows, "audit_log": [_entry_dict(e) for e in entries],
        "head": {"seq": entries[-1].seq if entries else 0, "hash": entries[-1].hash if entries else audit.GENESIS_HASH},
        "searches": searches, "patient_identifiers_withheld": withheld,
        "model_card": dict(model_card) if model_card is not None else None,
    }


def record_bytes(record: Mapping[str, Any]) -> bytes:
    """The record as the file holds it: JSON, keys sorted, two-space indents, UTF-8."""
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, default=str, allow_nan=True) + "\n").encode("utf-8")


def record_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> str:
    """The canonical JSON text a search result is stored as (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def stored_rows(record: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The record's rows with each search's ``result`` column as stored (see :data:`RESULT_IN_SEARCHES`)."""
    results = {s.get("search_id"): s.get("result") for s in record.get("searches") or []}
    rows = {table: [dict(r) for r in found] for table, found in (record.get("rows") or {}).items()}
    for row in rows.get("case_searches", []):
        if row.get("result") == RESULT_IN_SEARCHES:
            row["result"] = canonical(results.get(row.get("search_id")))
    return rows


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _entry_dict(entry: audit.AuditEntry) -> dict[str, Any]:
    return {"case_number": entry.case_number, "seq": entry.seq, "timestamp": entry.timestamp, "actor": entry.actor, "action": entry.action,
            "details": entry.details, "prev_hash": entry.prev_hash, "hash": entry.hash, "field_digests": entry.field_digests}


def _withhold_patient(result_text: str) -> tuple[str, str]:
    """The stored result with each query's patient identifiers replaced; ("", "") when it names none."""
    result = json.loads(result_text)
    patients = [q["meta"].pop("patient") for q in result.get("queries", []) if isinstance(q.get("meta"), dict) and q["meta"].get("patient")]
    if not patients:
        return result_text, ""
    for q in result["queries"]:
        if isinstance(q.get("meta"), dict) and "patient" not in q["meta"]:
            q["meta"]["patient"] = WITHHELD
    digest = hashlib.sha256(audit.canonical_json(patients).encode("utf-8")).hexdigest()
    return canonical(result), digest


def entries_of(record: Mapping[str, Any]) -> list[audit.AuditEntry]:
    """The record's audit entries; ``ValueError`` when they are not entries."""
    try:
        return [audit.AuditEntry(**e) for e in record["audit_log"]]
    except (KeyError, TypeError) as error:
        raise ValueError("the record's audit log cannot be read") from error


def check_record(record: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Check a record on its own: ``(problems, caveats)``, both lists of sentences.

    The chain is recomputed; every stored row must equal what the chain sealed last (a search
    whose patient identifiers were withheld excepted, named in the caveats); the readable
    copies must equal the rows; the full model card must agree with the summary each search
    stored.
    """
    if record.get("format") != RECORD_FORMAT:
        return ["the file is not a CrossID case record"], []
    try:
        entries = entries_of(record)
        rows = stored_rows(record)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return [f"the record cannot be read ({error})"], []
    head = record.get("head") or {}
    chained = audit.verify_chain(entries, head=(int(head.get("seq", 0)), str(head.get("hash", ""))), require_field_digests=integrity.is_sealed(entries))
    if not chained.ok:
        return [f"the record's audit log is broken at entry {chained.first_broken_seq}: {chained.reason}"], []
    withheld = {int(w["search_id"]) for w in record.get("patient_identifiers_withheld") or []}
    problems, caveats = _compare_rows(rows, integrity.sealed_rows(entries), withheld)
    try:  # the examiner's landmark corrections, replayed from the log
        corrections = landmark_log.compare_with_log(rows.get("case_landmarks", []), entries)
    except (ValueError, KeyError, TypeError) as error:
        corrections = (0, f"the record's landmark corrections cannot be read ({error})")
    if corrections is not None:
        problems.append(corrections[1])
    card = record.get("model_card")
    for search in record.get("searches") or []:
        stored = next((r for r in rows.get("case_searches", []) if r.get("search_id") == search.get("search_id")), None)
        if stored is None or json.loads(stored["result"]) != search.get("result") or _json(stored["matcher_card"]) != search.get("matcher_card"):
            problems.append(f"the readable copy of search {search.get('search_id')} differs from the stored row")
        elif card is not None and card_summary(card) != search.get("matcher_card") and _same_matcher(card, search.get("matcher_card")):
            caveats.append(f"the gallery's model card differs from the summary search {search.get('search_id')} recorded (the matcher was replaced since)")
    return problems, caveats


def _same_matcher(card: Mapping[str, Any], summary: Any) -> bool:
    return isinstance(summary, Mapping) and summary.get("name") == card.get("name")


def _compare_rows(rows: Mapping[str, Any], sealed: Mapping[tuple[str, str], Any], withheld: set[int]) -> tuple[list[str], list[str]]:
    problems, caveats = [], []
    seen = set()
    for table, key in integrity.ROW_KEYS.items():
        for row in rows.get(table, []):
            name = (table, str(row.get(key)))
            seen.add(name)
            if name not in sealed:
                problems.append(f"the record holds a {table} row {name[1]!r} that no audit entry made")
                continue
            record = integrity.row_record(row, table)
            logged = sealed[name][0]
            differing = sorted(c for c in set(record) | set(logged) if record.get(c) != logged.get(c))
            if table == "case_searches" and int(row.get(key)) in withheld and differing == ["result"]:
                caveats.append(f"search {name[1]}: the patient's identifiers are withheld from this report, so its result is checked against the workspace only")
            elif differing:
                problems.append(f"the {', '.join(differing)} of the {table} row {name[1]!r} differ from what the audit log sealed")
    for name in sealed:
        if name not in seen:
            problems.append(f"the record lacks the {name[0]} row {name[1]!r} that the audit log sealed")
    return problems, caveats


def compare_with_log(record: Mapping[str, Any], case_entries: Sequence[audit.AuditEntry], stored_results: Mapping[int, str] | None = None) -> list[str]:
    """Problems found comparing the record with the case: every entry of the record must be
    the case's entry at the same position (same hash); a search whose patient identifiers the
    record withholds must equal the case's stored result with them withheld the same way
    (``stored_results``: search id -> the stored result text)."""
    entries = entries_of(record)
    by_seq = {e.seq: e for e in case_entries}
    problems = []
    for entry in entries:
        mine = by_seq.get(entry.seq)
        if mine is None:
            problems.append(f"the case's audit log has no entry {entry.seq}, which the report's record holds")
        elif mine.hash != entry.hash:
            problems.append(f"entry {entry.seq} of the report's record differs from the case's entry {entry.seq}")
    copies = {s.get("search_id"): s.get("result") for s in record.get("searches") or []}
    for withheld in record.get("patient_identifiers_withheld") or []:
        search_id = withheld.get("search_id")
        text = (stored_results or {}).get(search_id)
        if text is None:
            problems.append(f"the case holds no search {search_id}, which the report's record holds")
        elif json.loads(_withhold_patient(text)[0]) != copies.get(search_id):
            problems.append(f"the record's copy of search {search_id} differs from the case's stored result")
    return problems
