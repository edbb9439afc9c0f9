"""Start-up time of ``crossid --version`` and of the window, from the Python environment and
from the application folder.

    python tests/benchmarks/startup.py [--bundle dist/CrossID-Desktop] [--runs 5] [--drop-caches]

Each figure is the wall time from starting the process: for ``crossid --version`` until it
exits, for the window until ``crossid-desktop --exit-when-shown`` prints the moment its window
was shown (offscreen platform, a fresh empty workspace). "CPU s" is the user + system time of
the whole warm process (for the window: until it closed, after its start-up job), which a busy
machine disturbs less than the wall time. "warm" is the median of ``--runs``
runs after one unmeasured run; "cold" (with ``--drop-caches``, Linux, as root) is the median of
``--runs`` runs each after the kernel's page cache was dropped, so every library is read from
disk again. The environment is emptied (``env -i`` with HOME and PATH only), as on a
workstation.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def _drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def _timed(command: list[str], env: dict[str, str], *, window: bool) -> tuple[float, float]:
    """Wall seconds until the process exits (or reports its window shown), and the CPU
    seconds (user + system) the whole process used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    done = subprocess.run(command, env=env, cwd="/", capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    if not window:
        return time.time() - start, cpu
    shown = next(float(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("window shown "))
    return shown - start, cpu


def _measure(command: list[str], env: dict[str, str], *, window: bool, runs: int, cold: bool) -> tuple[float, float]:
    """Medians of wall and CPU seconds over ``runs``."""
    if not cold:
        _timed(command, env, window=window)  # unmeasured: fills the page cache
    walls, cpus = [], []
    for _ in range(runs):
        if cold:
            _drop_caches()
        wall, cpu = _timed(command, env, window=window)
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=CHECKOUT / "dist" / "CrossID-Desktop")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--drop-caches", action="store_true", help="also measure cold starts (Linux, root)")
    args = parser.parse_args()
    args.bundle = args.bundle.expanduser().resolve()  # the runs start from /
    home = Path(tempfile.mkdtemp(prefix="crossid-startup-"))
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "CROSSID_WORKSPACE": str(home / "workspace")}
    venv_env = {**env, "PYTHONPATH": str(CHECKOUT)}
    window_code = "import sys; from crossid_desktop.gui.app import main; sys.exit(main())"
    cases = [("python environment", [sys.executable, "-m", "crossid_desktop", "--version"], [sys.executable, "-c", window_code, "--exit-when-shown"], venv_env)]
    if (args.bundle / "crossid").exists():
        cases.append(("application folder", [str(args.bundle / "crossid"), "--version"], [str(args.bundle / "crossid-desktop"), "--exit-when-shown"], env))
    else:
        print(f"(no application folder at {args.bundle}: run make package)")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'installation':<20} {'what':<18} {'warm s':>7} {'cold s':>7} {'CPU s':>7}   (medians of {args.runs})")
    for label, version_command, window_command, case_env in cases:
        for what, command, window in (("crossid --version", version_command, False), ("window shown", window_command, True)):
            warm, cpu = _measure(command, case_env, window=window, runs=args.runs, cold=False)
            cold = _measure(command, case_env, window=window, runs=args.runs, cold=True)[0] if args.drop_caches else float("nan")
            print(f"{label:<20} {what:<18} {warm:>7.2f} {cold:>7.2f} {cpu:>7.2f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
