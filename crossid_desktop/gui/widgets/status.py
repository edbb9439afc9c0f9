"""What the application knows now: the status bar (compute device, matcher, gallery size, last
search time, the running job's progress with a cancel button) and the query facts (hashes,
modality, file metadata, matcher and timings of the last search), shown in the right-hand area
of the window.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QTextBrowser, QToolButton, QWidget

from crossid_desktop.about import describe_device
from crossid_desktop.gui.widgets.query_panel import MODALITY_LABELS


class StatusBar(QStatusBar):
    """Device, matcher, gallery, last search; ``cancelRequested`` when the examiner stops a job."""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.device_label = QLabel("device: …", objectName="deviceLabel")
        self.matcher_label = QLabel("matcher: —", objectName="matcherLabel")
        self.gallery_label = QLabel("gallery: …", objectName="galleryLabel")
        self.search_label = QLabel("last search: —", objectName="searchTimeLabel")
        self.progress = QProgressBar(objectName="jobProgress")
        self.progress.setMaximumWidth(180)
        self.progress.setMaximumHeight(16)
        self.cancel_button = QToolButton(objectName="cancelJobButton", text="Stop")
        self.cancel_button.setToolTip("Stop the running job")
        self.cancel_button.clicked.connect(self.cancelRequested)
        for widget in (self.progress, self.cancel_button):
            widget.setVisible(False)
            self.addWidget(widget)
        for label in (self.device_label, self.matcher_label, self.gallery_label, self.search_label):
            self.addPermanentWidget(label)

    def show_device(self, info: dict[str, Any]) -> None:
        device = describe_device(info)
        self.device_label.setText(f"device: {device}")

    def show_gallery(self, subjects: int, images: int) -> None:
        self.gallery_label.setText(f"gallery: {subjects} people, {images} photos")

    def show_search(self, result: Any) -> None:
        self.matcher_label.setText(f"matcher: {result.matcher_name}")
        self.show_gallery(result.gallery_subjects, result.gallery_images)
        warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
        self.search_label.setText(f"last search: {result.timings_ms.get('total', 0.0) / 1000.0:.2f} s{warned}")

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(min(done, total) if total > 0 else 0)
        self.showMessage(message)

    def show_busy(self, busy: bool) -> None:
        """A job is running (busy indicator until it reports progress) or the worker is idle."""
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        else:
            self.clearMessage()


class QueryFacts(QTextBrowser):
    """The query's facts: per image its file, SHA-256, modality (guessed / chosen) and metadata;
    after a search the matcher, its fingerprint, the gallery and the timings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryFacts")
        self.setOpenLinks(False)
        self.show_facts((), None)

    def show_facts(self, queries: Sequence[Any], result: Any | None) -> None:
        """``queries``: the opened query images (``image``, ``modality``, ``guessed``);
        ``result``: the last :class:`~crossid_desktop.search.service.SearchResult` of them, or None."""
        if not queries:
            self.setHtml("<h3>Query</h3><p>No query is open.</p>")
            return
        parts = ["<h3>Query</h3>"]
        for query in queries:
            image, meta = query.image, query.image.meta
            rows = [
                ("file", str(image.path) if image.path else "(in memory)"),
                ("SHA-256", f"<code>{image.sha256}</code>"),
                ("modality", MODALITY_LABELS[query.modality] + ("" if query.modality == query.guessed else f" (guessed: {MODALITY_LABELS[query.guessed]})")),
                ("format", f"{meta.format}, {meta.width} × {meta.height} px, {meta.channels} channel(s), {meta.bit_depth}-bit"),
            ]
            if meta.exif_orientation:
                rows.append(("EXIF orientation", str(meta.exif_orientation)))
            if meta.frames > 1:
                rows.append(("frame", f"{meta.frame + 1} of {meta.frames}"))
            if query.modality.is_xray or meta.spacing is not None:
                rows.append(("pixel spacing", meta.spacing.describe() if meta.spacing else "not known: distances in pixels"))
            if meta.patient is not None:  # shown to the examiner; reports print it only when asked
                rows.append(("patient (DICOM)", meta.patient.describe()))
            rows += [(f"DICOM {key}", str(value)) for key, value in meta.dicom.items()]
            parts.append(_table(rows))
        if result is not None:
            parts.append("<h3>Last search</h3>")
            rows = [
                ("matcher", result.matcher_name),
                ("fingerprint", f"<code>{result.matcher_fingerprint[:16]}…</code>"),
                ("gallery", f"{result.gallery_subjects} people, {result.gallery_images} photos"),
                ("gallery digest", f"<code>{result.gallery_digest[:16]}…</code>"),
                ("ranked by", result.rank_by),
            ]
            soft = result.preprocessing.get("query", {}).get("soft_tissue") if isinstance(result.preprocessing, dict) else None
            if soft:
                rows.append(("soft tissue (matcher)", ", ".join(f"{k} {v}" for k, v in soft.items())))
            rows += [(f"time: {step}", f"{ms:.0f} ms") for step, ms in result.timings_ms.items()]
            parts.append(_table(rows))
        self.setHtml("".join(parts))


def _table(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td style='color:#666;padding-right:8px'>{html.escape(k)}</td><td>{_cell(v)}</td></tr>" for k, v in rows)
    return f"<table cellspacing='2'>{cells}</table>"


def _cell(value: str) -> str:
    return value if value.startswith("<code>") else html.escape(value)
