"""Take the README's screenshots by driving the real application through its demo.

    python packaging/screenshots.py [--out docs/screenshots] [--demo-dir DIR]

The application (:func:`crossid_desktop.gui.app.run_app`) starts on its demo, exactly as
``crossid-desktop --demo`` does; this script then steps through it the way an examiner would
(the skull X-ray search with its top 10 and the known identity framed in green, the
injured-face query, the compare view with both overlays, the gallery manager, a case with marked
candidates) and saves a PNG of each step (each under 400 KB).

It needs a display. Without ``$DISPLAY`` it starts itself again under ``xvfb-run`` (a virtual
X server: ``apt-get install xvfb`` on Debian/Ubuntu). The user's settings and workspace are
never touched: both live in a temporary folder, and the demo is built in ``--demo-dir``
(a temporary folder unless given; building it takes a minute or two on a CPU).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 400_000
SCREEN = "1600x1000x24"
WINDOW_SIZE = (1500, 920)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--demo-dir", type=Path, default=None, help="where the demo is built (kept between runs when given)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for any one step")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return _under_xvfb(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="crossid-screenshots-") as tmp:
        home = Path(tmp)
        os.environ["CROSSID_WORKSPACE"] = str(home / "workspace")
        os.environ["XDG_CONFIG_HOME"] = str(home / "config")
        demo_dir = args.demo_dir or home / "demo"
        return _drive(args.out, demo_dir, args.timeout, home)


def _under_xvfb(argv: list[str]) -> int:
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        print(
            "No display: $DISPLAY is not set and xvfb-run is not installed. Install it (Debian/Ubuntu: "
            "sudo apt-get install xvfb) or run this script inside a desktop session.",
            file=sys.stderr,
        )
        return 2
    command = [xvfb, "-a", "-s", f"-screen 0 {SCREEN}", sys.executable, str(Path(__file__).resolve()), *argv]
    return subprocess.call(command)


def _drive(out: Path, demo_dir: Path, timeout_s: float, home: Path) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from crossid_desktop.gui import app as gui_app

    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(home / "settings"))
    application = QApplication.instance() or QApplication(sys.argv[:1])
    application.setStyle("Fusion")
    out.mkdir(parents=True, exist_ok=True)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            Tour(_main_window(), out, timeout_s).run()
        except BaseException as error:  # reported after the event loop ends
            failure.append(error)
        finally:
            for widget in QApplication.topLevelWidgets():
                widget.close()
            QApplication.quit()

    QTimer.singleShot(0, run)
    gui_app.run_app(workspace=home / "workspace", demo=True, demo_dir=demo_dir)
    if failure:
        raise failure[0]
    return 0


def _main_window() -> Any:
    from PySide6.QtWidgets import QApplication

    return next(w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow")


def _save_palette(image: Any, path: Path) -> None:
    """Write a QImage as a 256-colour PNG (Pillow's median cut with dithering)."""
    from PIL import Image

    from crossid_desktop.gui.images import from_qimage

    Image.fromarray(from_qimage(image)).quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


class Tour:
    """The demo, step by step, with a screenshot after each step."""

    def __init__(self, window: Any, out: Path, timeout_s: float) -> None:
        self.window = window
        self.out = out
        self.timeout_s = timeout_s
        window.resize(*WINDOW_SIZE)

    # -- waiting without sleeping: a local event loop until a signal (or the timeout) ------------
    def wait(self, signal: Any, check: Callable[..., bool] | None = None) -> tuple[Any, ...]:
        from PySide6.QtCore import QEventLoop, QTimer

        loop, got = QEventLoop(), []

        def received(*args: Any) -> None:
            if check is None or check(*args):
                got.append(args)
                loop.quit()

        signal.connect(received)
        QTimer.singleShot(int(self.timeout_s * 1000), loop.quit)
        loop.exec()
        signal.disconnect(received)
        if not got:
            raise TimeoutError(f"No {signal} within {self.timeout_s:.0f} s")
        return got[0]

    def settle(self, ms: int = 400) -> None:
        """Let layouts and paints finish (cards are laid out after the result arrives)."""
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def until(self, done: Callable[[], bool]) -> None:
        """Let the event loop run until ``done()`` (at most the step timeout)."""
        import time

        from PySide6.QtWidgets import QApplication

        end = time.monotonic() + self.timeout_s
        while not done() and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.02)

    def shoot(self, widget: Any, name: str) -> Path:
        """Save a PNG of ``widget`` under :data:`MAX_BYTES`: full colour when it fits, else a
        256-colour palette at full size, else the palette image scaled down."""
        from PySide6.QtCore import Qt

        self.settle()
        image = widget.grab().toImage()
        path = self.out / name
        image.save(str(path), "PNG", 0)  # quality 0: the strongest compression
        scale = 1.0
        while path.stat().st_size > MAX_BYTES and scale > 0.5:
            shown = image if scale == 1.0 else image.scaledToWidth(int(image.width() * scale), Qt.TransformationMode.SmoothTransformation)
            _save_palette(shown, path)
            scale *= 0.9
        print(f"{path} ({path.stat().st_size // 1000} KB)")
        return path

    # -- the steps --------------------------------------------------------------------------------
    def demo_query(self, word: str) -> Any:
        """Open the demo query whose menu entry contains ``word`` and wait for its search."""
        action = next(a for a in self.window.actions_.demo_menu.actions() if word in a.text())
        action.trigger()
        (outcome,) = self.wait(self.window.searchFinished)
        return outcome

    def run(self) -> None:
        window = self.window
        (xray,) = self.wait(window.searchFinished)  # the demo opens and searches its X-ray pair itself
        self.shoot(window, "search_xray.png")
        self.demo_query("njured")
        self.shoot(window, "search_injured.png")
        xray = self.demo_query("frontal and lateral")
        true_rank = xray.result.rank_of(xray.true_subject_id) if xray.true_subject_id else None
        self.compare(true_rank or 1)
        self.gallery_manager()
        self.case()

    def compare(self, rank: int) -> None:
        from PySide6.QtWidgets import QApplication

        window = self.window
        window.selected_rank = rank
        window.open_compare()
        view = next(w for w in reversed(QApplication.topLevelWidgets()) if w.objectName() == "compareView" and w.isVisible())
        view.resize(1300, 640)
        self.wait(view.pairShown)
        view.modes.setCurrentIndex(1)
        view.opacity.setValue(45)
        self.shoot(view, "compare_overlay.png")
        view.modes.setCurrentIndex(0)
        self.shoot(view, "compare_side_by_side.png")
        self.until(lambda: view._overlay_job is None)  # the skull registered to the face by their landmarks
        view.modes.setCurrentIndex(2)
        self.shoot(view, "compare_skull_face.png")
        view.close()

    def gallery_manager(self) -> None:
        from PySide6.QtWidgets import QApplication

        window = self.window
        window.open_gallery_manager()
        dialog = next(w for w in reversed(QApplication.topLevelWidgets()) if w.objectName() == "galleryManager" and w.isVisible())
        dialog.resize(820, 640)
        self.wait(dialog.refreshed)
        dialog.table.selectRow(2)
        self.shoot(dialog, "gallery_manager.png")
        dialog.close()

    def case(self) -> None:
        from crossid_desktop.gui.widgets.candidate_card import Mark

        window = self.window
        panel = window.case_panel
        window.case_tabs.setCurrentWidget(panel)
        panel.number_edit.clear()  # a number is generated: a kept demo may hold earlier cases
        panel.title_edit.setText("Skeletal remains, river bank")
        panel.examiner_edit.setText("Dr R. Okafor")
        panel.agency_edit.setText("Regional Identification Unit")
        panel.new_case()
        self.wait(panel.caseChanged)
        cards = window.candidates.cards()
        notes = {0: "Orbit spacing and nasal aperture consistent", 2: "Jaw line similar; check dental records"}
        for index, note in notes.items():
            if index < len(cards):
                cards[index].set_mark(Mark.OF_INTEREST, note)
                self.wait(panel.caseChanged)
        # an examiner excludes someone else than the person sought (the demo knows who that is)
        others = [card for card in cards[3:] if not card.is_true_identity]
        if others:
            others[0].set_mark(Mark.EXCLUDED, "Mandible clearly broader")
            self.wait(panel.caseChanged)
        panel.notes_edit.setPlainText(
            "Frontal and lateral skull radiographs received 17 Jan. Gallery: demo missing-persons list. "
            "Candidates of interest to be compared with dental records before any conclusion."
        )
        panel.commit_notes()
        self.wait(panel.caseChanged)
        self.shoot(window, "case_panel.png")


if __name__ == "__main__":
    sys.exit(main())
