"""Fault injection for the tests of atomicity: a named point in a long write where the process
can be killed as a power cut or ``kill -9`` would kill it.

With the environment variable ``CROSSID_KILL_AT_FAULT_POINT=N`` set, the process kills itself
(SIGKILL: no clean-up, no ``finally``) when it passes its N-th fault point. Unset (always, in
normal use), a fault point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_VARIABLE = "CROSSID_KILL_AT_FAULT_POINT"
_passed = 0


def fault_point(name: str) -> None:
    """Die here if this is the fault point the environment names (``name`` is for readers)."""
    target = os.environ.get(FAULT_VARIABLE)
    if not target:
        return
    global _passed
    _passed += 1
    if _passed == int(target):
        kill = getattr(signal, "SIGKILL", None)
        if kill is not None:
            os.kill(os.getpid(), kill)
        os._exit(137)  # where there is no SIGKILL: no clean-up either
