"""The window's menus, toolbar and keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar


@dataclass
class WindowActions:
    """The actions of the main window."""

    open_query: QAction
    run_search: QAction
    stop: QAction
    settings: QAction
    about: QAction
    quit: QAction
    compare: QAction
    import_gallery: QAction
    export_report: QAction
    recent_menu: QMenu
    demo_menu: QMenu
    toolbar: QToolBar | None = None


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
        compare=_action(window, "&Compare…", window.open_compare, ["Ctrl+M"], name="compareAction", tip="Compare the query with the selected candidate"),
        import_gallery=_action(window, "&Import gallery…", window.open_gallery_manager, ["Ctrl+I"], name="importGalleryAction", tip="Enrol face photos into the gallery"),
        export_report=_action(window, "&Export report…", window.export_report, ["Ctrl+E"], name="exportReportAction", tip="Export the case report (PDF)"),
        recent_menu=QMenu("Open &recent", window),
        demo_menu=QMenu("&Demo", window),
    )
    acts.recent_menu.setObjectName("recentMenu")
    acts.demo_menu.setObjectName("demoMenu")

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(acts.open_query)
    file_menu.addMenu(acts.recent_menu)
    file_menu.addAction(acts.import_gallery)
    file_menu.addAction(acts.export_report)
    file_menu.addSeparator()
    file_menu.addAction(acts.settings)
    file_menu.addSeparator()
    file_menu.addAction(acts.quit)
    search_menu = bar.addMenu("&Search")
    search_menu.addAction(acts.run_search)
    search_menu.addAction(acts.stop)
    search_menu.addAction(acts.compare)
    bar.addMenu(acts.demo_menu)
    acts.demo_menu.menuAction().setVisible(False)  # shown once the demo is open
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(acts.about)

    toolbar = QToolBar("Main", window)
    toolbar.setObjectName("mainToolBar")
    toolbar.setMovable(False)
    for action in (acts.open_query, acts.run_search, acts.stop, acts.compare, acts.import_gallery, acts.export_report):
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
