"""Help > Self-test in the window, and the window's icon."""

from __future__ import annotations

import json

from PySide6.QtGui import QAction

from crossid_desktop.selftest import INSTALLATION, default_record_dir

TIMEOUT = 120_000


def test_the_help_menu_offers_the_self_test(window) -> None:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert [a.objectName() for a in help_menu.actions()] == ["selfTestAction", "aboutAction"]
    assert window.findChild(QAction, "selfTestAction").toolTip() == "Check this installation and write the record (PDF and JSON)"


def test_the_dialog_runs_the_installation_checks_and_lists_them(qtbot, window) -> None:
    dialog = window.open_selftest(parts=(INSTALLATION,))
    qtbot.addWidget(dialog)
    assert not dialog.run_button.isEnabled() and dialog.stop_button.isEnabled()
    with qtbot.waitSignal(dialog.selfTestFinished, timeout=TIMEOUT) as finished:
        pass
    outcome = finished.args[0]
    assert outcome.passed, [c.line() for c in outcome.record.checks]
    table = dialog.table
    rows = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert rows == [("Manifest", "PASS"), ("Bundled files", "PASS"), ("Runtime pieces", "PASS"), ("DICOM decoders", "PASS")]
    assert "PASSED: all 4 checks passed." in dialog.verdict.text()
    assert outcome.json_path.parent == default_record_dir() and json.loads(outcome.json_path.read_text())["passed"] is True
    assert dialog.open_button.isEnabled() and dialog.run_button.isEnabled() and not dialog.stop_button.isEnabled()
    dialog.close()


def test_the_window_carries_the_application_icon(window) -> None:
    sizes = {s.width() for s in window.windowIcon().availableSizes()}
    assert {16, 32, 48, 256} <= sizes
