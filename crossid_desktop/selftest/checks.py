"""One check of the self-test and its result.

A check is a function returning ``(summary, details)`` when it passes and raising
:class:`CheckFailed` (or any project error) with one sentence when it does not. :func:`run_check`
times it and turns the outcome into a :class:`CheckResult`; an unexpected exception fails the
check with its type and message instead of stopping the self-test, and a cancel stops it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crossid_desktop.errors import Cancelled, CrossIDError

log = logging.getLogger(__name__)

INSTALLATION = "installation"
OPERATION = "operation"
PARTS = (INSTALLATION, OPERATION)

CheckFunction = Callable[[], tuple[str, Mapping[str, Any]]]


class CheckFailed(CrossIDError):
    """A check whose outcome is not the expected one; the message is one sentence."""

    def __init__(self, sentence: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(sentence)
        self.details = dict(details or {})


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``summary`` is one sentence, what was found or what failed."""

    name: str
    part: str  # one of PARTS
    passed: bool
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        """``PASS name: summary`` or ``FAIL name: summary``."""
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.summary}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "part": self.part, "passed": self.passed, "summary": self.summary, "details": dict(self.details), "seconds": round(self.seconds, 3)}


def run_check(name: str, part: str, check: CheckFunction) -> CheckResult:
    """Run one check; a :class:`~crossid_desktop.errors.Cancelled` stops the self-test."""
    start = time.perf_counter()
    try:
        summary, details = check()
        passed = True
    except Cancelled:
        raise
    except CheckFailed as failure:
        summary, details, passed = str(failure), failure.details, False
    except CrossIDError as error:
        summary, details, passed = str(error), {"error": type(error).__name__}, False
    except Exception as error:  # a defect or a broken installation: recorded, not raised
        log.debug("self-test check %r raised", name, exc_info=error)
        summary = f"it stopped with an unexpected {type(error).__name__}: {error}."
        details, passed = {"error": type(error).__name__}, False
    return CheckResult(name, part, passed, summary, details, time.perf_counter() - start)
