"""The image files the application takes, by suffix: one list for data-set readers, batch
folders and the GUI's open dialogs. (Loading itself tells the format from the content, never
from the suffix; see :mod:`crossid_desktop.imaging.io`.)"""

from __future__ import annotations

#: Suffixes (lower case) of the files taken as images when a folder is listed.
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".pgm", ".gif", ".dcm", ".dicom"})


def is_image_name(name: str) -> bool:
    """Whether a file name has one of :data:`IMAGE_SUFFIXES` (case-insensitive)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_SUFFIXES


def file_dialog_filter() -> str:
    """A Qt file-dialog filter string for the image files (and a disc's DICOMDIR), then all files."""
    patterns = " ".join(f"*{suffix}" for suffix in sorted(IMAGE_SUFFIXES)) + " DICOMDIR"
    return f"Images ({patterns});;All files (*)"
