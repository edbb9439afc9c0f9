"""The window's menus, toolbar and keyboard shortcuts.

Actions whose feature lives in an optional module (the compare view, the gallery manager, the
case report) are added only when that module is installed, so the window never offers what it
cannot do. :func:`feature_available` is the one test of that.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

#: optional features: name -> the module that provides it
FEATURE_MODULES = {
    "compare": "crossid_desktop.gui.widgets.compare_view",
    "gallery_manager": "crossid_desktop.gui.widgets.gallery_manager",
    "case_panel": "crossid_desktop.gui.widgets.case_panel",
    "landmark_editor": "crossid_desktop.gui.widgets.landmark_editor",
    "report": "crossid_desktop.cases.report",
}


def feature_available(name: str) -> bool:
    """True when the module of an optional feature is installed."""
    try:
        return importlib.util.find_spec(FEATURE_MODULES[name]) is not None
    except ModuleNotFoundError:
        return False


@dataclass
class WindowActions:
    """The actions of the main window (the optional ones are None when unavailable)."""

    open_query: QAction
    run_search: QAction
    stop: QAction
    settings: QAction
    about: QAction
    quit: QAction
    recent_menu: QMenu
    demo_menu: QMenu
    compare: QAction | None = None
    import_gallery: QAction | None = None
    export_report: QAction | None = None
    toolbar: QToolBar | None = None
    extra: dict[str, QAction] = field(default_factory=dict)


def _action(window: QMainWindow, text: str, slot: Callable[[], Any], shortcuts: Sequence[str] = (), *, name: str, tip: str = "") -> QAction:
    action = QAction(text, window)
    action.setObjectName(name)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.setToolTip(tip or text.replace("…", "").replace("&", ""))
    action.triggered.connect(lambda checked=False: slot())
    return action


def build_actions(window: Any) -> WindowActions:
    """Create the actions, menus and toolbar of ``window`` (a MainWindow with the slots used)."""
    acts = WindowActions(
        open_query=_action(window, "&Open query…", window.open_query_dialog, ["Ctrl+O"], name="openQueryAction", tip="Open a skull X-ray (one view, or frontal + lateral) or an injured-face photo"),
        run_search=_action(window, "&Run search", window.run_search, ["Ctrl+R", "F5"], name="runSearchAction", tip="Rank the gallery against the query"),
        stop=_action(window, "&Stop", window.stop_jobs, ["Esc"], name="stopAction", tip="Stop the running job"),
        settings=_action(window, "&Settings…", window.open_settings, [QKeySequence(QKeySequence.StandardKey.Preferences).toString() or "Ctrl+,"], name="settingsAction"),
        about=_action(window, "&About CrossID Desktop", window.show_about, name="aboutAction"),
        quit=_action(window, "&Quit", window.close, ["Ctrl+Q"], name="quitAction"),
        recent_menu=QMenu("Open &recent", window),
        demo_menu=QMenu("&Demo", window),
    )
    acts.recent_menu.setObjectName("recentMenu")
    acts.demo_menu.setObjectName("demoMenu")
    if feature_available("compare"):
        acts.compare = _action(window, "&Compare…", window.open_compare, ["Ctrl+M"], name="compareAction", tip="Compare the query with the selected candidate")
    if feature_available("gallery_manager"):
        acts.import_gallery = _action(window, "&Import gallery…", window.open_gallery_manager, ["Ctrl+I"], name="importGalleryAction", tip="Enrol face photos into the gallery")
    if feature_available("report"):
        acts.export_report = _action(window, "&Export report…", window.export_report, ["Ctrl+E"], name="exportReportAction", tip="Export the case report (PDF)")

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(acts.open_query)
    file_menu.addMenu(acts.recent_menu)
    for optional in (acts.import_gallery, acts.export_report):
        if optional is not None:
            file_menu.addAction(optional)
    file_menu.addSeparator()
    file_menu.addAction(acts.settings)
    file_menu.addSeparator()
    file_menu.addAction(acts.quit)
    search_menu = bar.addMenu("&Search")
    search_menu.addAction(acts.run_search)
    search_menu.addAction(acts.stop)
    if acts.compare is not None:
        search_menu.addAction(acts.compare)
    bar.addMenu(acts.demo_menu)
    acts.demo_menu.menuAction().setVisible(False)  # shown once the demo is open
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(acts.about)

    toolbar = QToolBar("Main", window)
    toolbar.setObjectName("mainToolBar")
    toolbar.setMovable(False)
    for action in (acts.open_query, acts.run_search, acts.stop, acts.compare, acts.import_gallery, acts.export_report):
        if action is not None:
            toolbar.addAction(action)
    window.addToolBar(toolbar)
    acts.toolbar = toolbar
    return acts


def fill_recent(menu: QMenu, recent: Sequence[Sequence[str]], open_paths: Callable[[list[str]], Any]) -> None:
    """List recent queries in ``menu``; choosing one opens it again."""
    menu.clear()
    for paths in recent:
        label = " + ".join(Path(p).name for p in paths)
        action = menu.addAction(label)
        action.setToolTip("\n".join(paths))
        action.triggered.connect(lambda checked=False, p=list(paths): open_paths(p))
    menu.setEnabled(bool(recent))


def fill_demo(menu: QMenu, labels: Sequence[str], open_demo: Callable[[int], Any]) -> None:
    """List the demo queries; choosing one opens and searches it."""
    menu.clear()
    for index, label in enumerate(labels):
        action = menu.addAction(label)
        action.setObjectName(f"demoQuery_{index}")
        action.triggered.connect(lambda checked=False, i=index: open_demo(i))
    menu.menuAction().setVisible(bool(labels))
