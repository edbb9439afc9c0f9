"""Examiner's actions a case logs that change no stored field (a skull-face overlay moved by hand)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossid_desktop.cases import audit
from crossid_desktop.cases.case import CaseService


def log_event(cases: CaseService, case_number: str, action: str, details: Mapping[str, Any], *, actor: str | None = None) -> audit.AuditEntry:
    """Log ``action`` with ``details`` in the case's hash-chained audit log: the entry alone."""
    with cases._change(case_number, actor=actor, action=action) as (_, logged):
        logged.update(details)
    return cases.audit_log(case_number)[-1]
