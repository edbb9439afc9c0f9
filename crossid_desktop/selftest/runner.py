"""Run the self-test: the installation checks, then the operational checks in a temporary
workspace, then the record (JSON and PDF). Called by ``crossid selftest`` and by the window's
Help > Self-test."""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from crossid_desktop import __version__
from crossid_desktop.about import device_facts, installation_kind, machine, runtime_versions
from crossid_desktop.paths import default_workspace_dir
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.selftest.checks import INSTALLATION, OPERATION, PARTS
from crossid_desktop.selftest.installation import InstallationChecks
from crossid_desktop.selftest.operation import OperationalChecks
from crossid_desktop.selftest.record import SelfTestRecord, write_record


@dataclass(frozen=True)
class SelfTestOutcome:
    """A finished self-test: the record and where it was written."""

    record: SelfTestRecord
    json_path: Path
    pdf_path: Path

    @property
    def passed(self) -> bool:
        return self.record.passed


def default_record_dir() -> Path:
    """Where records go when no folder is given: ``selftest/`` beside the user's workspace."""
    return default_workspace_dir().parent / "selftest"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_selftest(
    out_dir: Path | None = None,
    *,
    parts: Sequence[str] = PARTS,
    reference_dir: Path | None = None,
    manifest_file: Path | None = None,
    roots: Mapping[str, Path] | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> SelfTestOutcome:
    """Run the chosen parts (``installation``, ``operation``) and write the record into
    ``out_dir`` (default :func:`default_record_dir`). ``reference_dir``, ``manifest_file`` and
    ``roots`` point the checks elsewhere than the installation (tests); ``device`` chooses
    the compute device of the matchers (default: the one searches use)."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise ValueError(f"parts are some of {PARTS}, not {unknown or 'none'}")
    progress = progress or no_progress
    started = _now()
    checks = []
    if INSTALLATION in parts:
        progress(0, 1, "checking the installation files")
        checks += InstallationChecks(manifest_file=manifest_file, roots=roots).run()
    check_cancel(cancel, "The self-test")
    if OPERATION in parts:
        def operation_progress(done: int, total: int, message: str = "") -> None:  # after the installation step
            progress(1 + done, 2 + total, message)

        with tempfile.TemporaryDirectory(prefix="crossid-selftest-") as work:
            checks += OperationalChecks(Path(work), reference_dir=reference_dir, device=device, progress=operation_progress, cancel=cancel).run()
    check_cancel(cancel, "The self-test")
    record = SelfTestRecord(
        started=started, finished=_now(), software=__version__, installation=installation_kind(), executable=sys.executable,
        machine=machine(), compute=device_facts(), versions=runtime_versions(), parts=tuple(p for p in PARTS if p in parts), checks=tuple(checks),
    )
    json_path, pdf_path = write_record(record, Path(out_dir) if out_dir is not None else default_record_dir())
    progress(1, 1, "self-test done")
    return SelfTestOutcome(record, json_path, pdf_path)
