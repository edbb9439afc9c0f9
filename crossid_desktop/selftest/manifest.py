"""The installation manifest: the SHA-256 of every bundled model, font and resource file.

The files an installation relies on come in groups, each found at run time where the
installation keeps it (:data:`GROUPS`): the project's own ``resources`` (demo models, report
fonts, icons, the self-test reference set), dlib's model files, OpenCV's face cascades and
reportlab's fonts. A manifest lists, per group, every file by its path inside the group's
folder with its size and SHA-256; :func:`verify` recomputes them and names every file that is
missing, different or not listed.

Two kinds of manifest, one file name (``manifest.json`` in the resources folder):

- ``package``: committed with the source (``resources/manifest.json``) and carried unchanged
  by a wheel; lists the project's resources and dlib's model files, whose bytes do not depend
  on the Python environment. Written by ``python packaging/write_manifest.py`` whenever a
  resource changes; the test suite fails while it is stale.
- ``bundle``: written by the bundle build (``packaging/crossid-desktop.spec``) over the built
  folder: every data group as collected, plus ``program``, every other file of the folder (the
  executables, which hold the Python code, and the native libraries); with the versions of
  the runtime pieces and the DICOM transfer syntaxes the build can decode, which a bundle must
  reproduce exactly.

Symbolic links are not listed (their targets are, where they lie inside the installation).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crossid_desktop import __version__
from crossid_desktop.errors import CrossIDError
from crossid_desktop.paths import resources_dir, write_text_atomic

MANIFEST_NAME = "manifest.json"
FORMAT = "crossid-desktop-manifest"
FORMAT_VERSION = 1
KINDS = ("package", "bundle")
_CHUNK = 1 << 20


class ManifestError(CrossIDError):
    """A manifest that is missing, unreadable or of another format."""


def _dlib_models() -> Path:
    import face_recognition_models

    return Path(face_recognition_models.face_recognition_model_location()).parent


def _opencv_cascades() -> Path:
    import cv2  # heavy: only when the group is checked

    return Path(cv2.data.haarcascades)


def _reportlab_fonts() -> Path:
    import reportlab

    return Path(reportlab.__file__).parent / "fonts"


def _program() -> Path:
    """The bundle's folder (the parent of PyInstaller's ``_internal``; ``Contents`` of a macOS app)."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is None:
        raise ManifestError("The program files are listed only in the application bundle's manifest.")
    return Path(frozen_root).parent


@dataclass(frozen=True)
class FileGroup:
    """Files an installation relies on: every file under ``root()`` matching ``patterns``."""

    name: str
    description: str
    root: Callable[[], Path]
    patterns: tuple[str, ...] = ("**/*",)
    #: file names never listed (the manifest itself; caches Python may write)
    ignored: tuple[str, ...] = (MANIFEST_NAME,)

    def files(self, root: Path, *, outside: Iterable[Path] = ()) -> list[Path]:
        """The group's files under ``root`` but not under any folder of ``outside``, sorted by
        their POSIX path inside ``root``; symbolic links are left out."""
        found = {p for pattern in self.patterns for p in root.glob(pattern) if p.is_file() and not p.is_symlink()}
        kept = [p for p in found if p.name not in self.ignored and "__pycache__" not in p.relative_to(root).parts]
        excluded = [Path(o).resolve() for o in outside]
        if excluded:
            kept = [p for p in kept if not any(p.resolve().is_relative_to(folder) for folder in excluded)]
        return sorted(kept, key=lambda p: p.relative_to(root).as_posix())


GROUPS: dict[str, FileGroup] = {
    group.name: group
    for group in (
        FileGroup("resources", "CrossID Desktop's resources (demo models, report fonts, icons, self-test reference set)", resources_dir),
        FileGroup("dlib-models", "dlib's face landmark and face recognition models", _dlib_models, ("*.dat",)),
        FileGroup("opencv-cascades", "OpenCV's Haar cascades (face and eye detection fallback)", _opencv_cascades, ("*.xml",)),
        FileGroup("reportlab-fonts", "reportlab's fonts", _reportlab_fonts),
        FileGroup("program", "the bundle's executables and libraries", _program),
    )
}
#: groups of data files; ``program`` holds every other file of the bundle
DATA_GROUPS = ("resources", "dlib-models", "opencv-cascades", "reportlab-fonts")
PACKAGE_GROUPS = ("resources", "dlib-models")
BUNDLE_GROUPS = (*DATA_GROUPS, "program")


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Manifest:
    """What an installation holds: per group, relative path -> digest; for a bundle, also the
    runtime facts it was built with (``runtime``: ``versions`` and ``dicom_syntaxes``)."""

    kind: str
    software: str
    written: str  # ISO 8601, UTC
    groups: Mapping[str, Mapping[str, FileDigest]]
    runtime: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_files(self) -> int:
        return sum(len(files) for files in self.groups.values())

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "software": self.software,
            "written": self.written,
            "groups": {g: {p: {"sha256": d.sha256, "bytes": d.bytes} for p, d in sorted(files.items())} for g, files in self.groups.items()},
            "runtime": dict(self.runtime),
        }
        return json.dumps(data, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Manifest:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT or int(data.get("format_version", 0)) > FORMAT_VERSION or data.get("kind") not in KINDS:
                raise ManifestError(f"The manifest {source} is not a CrossID Desktop manifest this version can read.")
            groups = {str(g): {str(p): FileDigest(str(d["sha256"]), int(d["bytes"])) for p, d in files.items()} for g, files in data["groups"].items()}
            unknown = sorted(set(groups) - set(GROUPS))
            if unknown:
                raise ManifestError(f"The manifest {source} lists file groups this version does not know ({', '.join(unknown)}).")
            return cls(str(data["kind"]), str(data["software"]), str(data["written"]), groups, dict(data.get("runtime") or {}))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ManifestError(f"The manifest {source} is damaged ({error}).") from error


@dataclass(frozen=True)
class FileProblem:
    """One file that does not agree with the manifest."""

    group: str
    path: str
    problem: str  # "missing", "differs" or "not listed"

    def sentence(self) -> str:
        what = {"missing": "is missing", "differs": "differs from its SHA-256 in the manifest", "not listed": "is not in the manifest"}[self.problem]
        return f"{self.group}/{self.path} {what}"


def manifest_path() -> Path:
    """Where the installation's manifest lives: ``manifest.json`` in the resources folder."""
    return resources_dir() / MANIFEST_NAME


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def group_root(name: str, roots: Mapping[str, Path] | None = None) -> Path:
    """The folder of a group: from ``roots`` when given there, else where the installation keeps it."""
    if roots and name in roots:
        return Path(roots[name])
    try:
        return GROUPS[name].root()
    except ImportError as error:
        raise ManifestError(f"The files of {GROUPS[name].description} cannot be found ({error}).") from error


def group_files(name: str, roots: Mapping[str, Path] | None = None) -> tuple[Path, list[Path]]:
    """A group's folder and its files (``program``: those of no data group)."""
    root = group_root(name, roots)
    if not root.is_dir():
        return root, []
    outside = [group_root(other, roots) for other in DATA_GROUPS] if name == "program" else []
    return root, GROUPS[name].files(root, outside=outside)


def digest_group(name: str, roots: Mapping[str, Path] | None = None) -> dict[str, FileDigest]:
    """Every file of a group with its size and SHA-256."""
    root, files = group_files(name, roots)
    return {p.relative_to(root).as_posix(): FileDigest(file_sha256(p), p.stat().st_size) for p in files}


def build_manifest(kind: str, groups: Sequence[str], *, runtime: Mapping[str, Any] | None = None, roots: Mapping[str, Path] | None = None) -> Manifest:
    """A manifest of the files of ``groups`` as they are now."""
    if kind not in KINDS:
        raise ValueError(f"kind is one of {KINDS}")
    written = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Manifest(kind, __version__, written, {name: digest_group(name, roots) for name in groups}, dict(runtime or {}))


def write_manifest(manifest: Manifest, path: Path) -> Path:
    write_text_atomic(path, manifest.to_json())
    return path


def read_manifest(path: Path | None = None) -> Manifest:
    """The installation's manifest (or the one at ``path``); :class:`ManifestError` when there is none."""
    path = Path(path) if path is not None else manifest_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(f"The manifest {path} cannot be read ({error.strerror or error}); reinstall CrossID Desktop.") from error
    return Manifest.from_json(text, str(path))


def verify(manifest: Manifest, *, roots: Mapping[str, Path] | None = None, groups: Iterable[str] | None = None) -> tuple[int, list[FileProblem]]:
    """Recompute every listed file's SHA-256; returns (files checked, problems). A file of a
    group's folder that the manifest does not list is a problem too."""
    checked, problems = 0, []
    for name in groups if groups is not None else manifest.groups:
        listed = manifest.groups.get(name, {})
        root, files = group_files(name, roots)
        present = {p.relative_to(root).as_posix(): p for p in files}
        for relative, expected in listed.items():
            path = present.get(relative)
            if path is None:
                problems.append(FileProblem(name, relative, "missing"))
                continue
            checked += 1
            if path.stat().st_size != expected.bytes or file_sha256(path) != expected.sha256:
                problems.append(FileProblem(name, relative, "differs"))
        problems += [FileProblem(name, relative, "not listed") for relative in sorted(set(present) - set(listed))]
    return checked, problems
