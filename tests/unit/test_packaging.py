"""The packaging recipe's pieces that can be checked without building the bundle (``make
package`` builds it and runs the bundle's self-test in a clean environment)."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
PACKAGING = CHECKOUT / "packaging"


def test_the_desktop_entry_names_the_bundled_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "crossid-desktop.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    icon = section["Icon"]
    assert section["Exec"].split()[0] == section["TryExec"] == "crossid-desktop"
    for size in (16, 32, 48, 64, 128, 256):
        png = CHECKOUT / "resources" / "icons" / f"{icon}-{size}.png"
        header = png.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(header[16:20], "big") == int.from_bytes(header[20:24], "big") == size  # IHDR width, height


def test_the_icons_are_rendered_from_the_svg() -> None:
    pytest.importorskip("PySide6.QtSvg")
    result = subprocess.run([sys.executable, str(PACKAGING / "make_icons.py"), "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_launcher_starts_the_window_or_the_command_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import crossid_desktop.cli
    import crossid_desktop.gui.app

    sys.path.insert(0, str(PACKAGING))
    try:
        import launcher
    finally:
        sys.path.remove(str(PACKAGING))
    monkeypatch.setattr(crossid_desktop.gui.app, "main", lambda: "window")
    monkeypatch.setattr(crossid_desktop.cli, "main", lambda: "command")
    for executable, started in (("/opt/CrossID-Desktop/crossid-desktop", "window"), ("C:/CrossID-Desktop/crossid-desktop.exe", "window"),
                                ("/opt/CrossID-Desktop/crossid", "command"), ("/usr/bin/python3", "command")):
        monkeypatch.setattr(sys, "executable", executable)
        assert launcher.main() == started


def test_the_spec_is_python_and_names_both_executables() -> None:
    spec = (PACKAGING / "crossid-desktop.spec").read_text(encoding="utf-8")
    compile(spec, "crossid-desktop.spec", "exec")
    assert 'executable("crossid", True)' in spec and 'executable("crossid-desktop", False)' in spec
