"""The self-test: qualifies an installation of CrossID Desktop on a workstation.

Installation checks (:mod:`~crossid_desktop.selftest.installation`): the bundled files
against the installation's manifest of SHA-256 digests (:mod:`~crossid_desktop.selftest.manifest`),
the runtime pieces and the DICOM decoders. Operational checks
(:mod:`~crossid_desktop.selftest.operation`): a bundled reference set of simulated people
(:mod:`~crossid_desktop.selftest.reference`) enrolled, searched, recorded in a case, audited
and reported. The record (:mod:`~crossid_desktop.selftest.record`) names the machine, the
software and every check's outcome. :func:`run_selftest` runs it all; ``crossid selftest``
and the window's Help > Self-test call it.

Layer: above ``cases`` and ``search``, below ``cli`` and ``gui``.
"""

from __future__ import annotations

from crossid_desktop.selftest.checks import INSTALLATION, OPERATION, PARTS, CheckResult
from crossid_desktop.selftest.record import SelfTestRecord
from crossid_desktop.selftest.runner import SelfTestOutcome, default_record_dir, run_selftest

__all__ = ["INSTALLATION", "OPERATION", "PARTS", "CheckResult", "SelfTestOutcome", "SelfTestRecord", "default_record_dir", "run_selftest"]
