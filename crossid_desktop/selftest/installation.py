"""Installation checks: is the software on this machine the one that was validated?

- **Manifest**: the installation's manifest is there, of this software version, and of the
  right kind (a bundle must carry the manifest its build wrote).
- **Bundled files**: every bundled model, font and resource file has the size and SHA-256 the
  manifest lists, and no file was added beside them.
- **Runtime pieces**: every runtime library imports; in a bundle, each has the version the
  build recorded.
- **DICOM decoders**: the transfer syntaxes pydicom can decode, and with which plugins; in a
  bundle, every syntax the build could decode is still decodable by the same plugins.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crossid_desktop.about import installation_kind, runtime_versions
from crossid_desktop.imaging.dicom import prepare_pydicom
from crossid_desktop.selftest.checks import INSTALLATION, CheckFailed, CheckResult, run_check
from crossid_desktop.selftest.manifest import Manifest, file_sha256, manifest_path, read_manifest, verify

#: at most this many file problems are named in the one-sentence summary (all are in the details)
NAMED_PROBLEMS = 3


def dicom_syntaxes() -> dict[str, list[str]]:
    """Each transfer syntax pydicom can decode here -> the plugins that can decode it
    (empty for the uncompressed syntaxes pydicom reads itself)."""
    import pydicom.pixels.decoders as decoders  # pydicom >= 3; heavy, only when asked
    from pydicom.pixels.decoders.base import Decoder

    prepare_pydicom()  # the project's own plugins take part
    found: dict[str, list[str]] = {}
    for name in dir(decoders):
        decoder = getattr(decoders, name)
        if isinstance(decoder, Decoder) and decoder.is_available:
            found[str(decoder.UID.name)] = sorted(decoder.available_plugins)
    return dict(sorted(found.items()))


def runtime_facts() -> dict[str, Any]:
    """What a bundle build records and a bundle must reproduce."""
    return {"versions": runtime_versions(), "dicom_syntaxes": dicom_syntaxes()}


class InstallationChecks:
    """The checks of one installation; ``manifest_file`` and ``roots`` (group -> folder) point
    them elsewhere than the installation itself (tests, a bundle being built)."""

    def __init__(self, *, manifest_file: Path | None = None, roots: Mapping[str, Path] | None = None, kind: str | None = None) -> None:
        self.manifest_file = manifest_file
        self.roots = dict(roots or {})
        self.kind = kind or installation_kind()
        self.manifest: Manifest | None = None

    def run(self) -> list[CheckResult]:
        results = [run_check("Manifest", INSTALLATION, self.check_manifest)]
        results.append(run_check("Bundled files", INSTALLATION, self.check_files))
        results.append(run_check("Runtime pieces", INSTALLATION, self.check_runtime))
        results.append(run_check("DICOM decoders", INSTALLATION, self.check_dicom))
        return results

    def _require_manifest(self) -> Manifest:
        if self.manifest is None:
            raise CheckFailed("there is no readable manifest to check against (see the check 'Manifest').")
        return self.manifest

    def check_manifest(self) -> tuple[str, dict[str, Any]]:
        from crossid_desktop import __version__

        path = self.manifest_file or manifest_path()
        manifest = read_manifest(path)
        digest = file_sha256(path)
        details = {"path": str(path), "sha256": digest, "kind": manifest.kind, "software": manifest.software, "written": manifest.written, "files": manifest.n_files, "groups": sorted(manifest.groups)}
        if manifest.software != __version__:
            raise CheckFailed(f"the manifest was written for CrossID Desktop {manifest.software}, but {__version__} is installed.", details)
        if self.kind == "bundle" and manifest.kind != "bundle":
            raise CheckFailed("this bundle carries a package manifest instead of the one its build wrote.", details)
        self.manifest = manifest
        return f"{manifest.kind} manifest (SHA-256 {digest[:16]}) of {manifest.n_files} files in {len(manifest.groups)} groups, written {manifest.written}.", details

    def check_files(self) -> tuple[str, dict[str, Any]]:
        manifest = self._require_manifest()
        checked, problems = verify(manifest, roots=self.roots)
        per_group = {group: len(files) for group, files in manifest.groups.items()}
        details: dict[str, Any] = {"checked": checked, "per_group": per_group, "problems": [p.sentence() for p in problems]}
        if problems:
            named = "; ".join(p.sentence() for p in problems[:NAMED_PROBLEMS])
            more = f" (and {len(problems) - NAMED_PROBLEMS} more)" if len(problems) > NAMED_PROBLEMS else ""
            raise CheckFailed(f"{len(problems)} bundled files do not agree with the manifest: {named}{more}.", details)
        groups = ", ".join(f"{group} {n}" for group, n in per_group.items())
        return f"all {checked} files match their SHA-256 ({groups}).", details

    def check_runtime(self) -> tuple[str, dict[str, Any]]:
        versions = runtime_versions()
        recorded = dict(self.manifest.runtime.get("versions", {})) if self.manifest is not None else {}
        details: dict[str, Any] = {"versions": versions, "recorded": recorded}
        missing = [name for name, value in versions.items() if value is None and name != "qt"]
        if missing:
            raise CheckFailed(f"{', '.join(missing)} cannot be imported.", details)
        changed = [f"{name} is {versions.get(name)} but the build recorded {value}" for name, value in recorded.items() if versions.get(name) != value]
        if changed:
            raise CheckFailed("; ".join(changed) + ".", details)
        compared = ", each the version the build recorded" if recorded else " (versions recorded, not compared: a Python environment keeps its own)"
        return f"{len(versions)} pieces import{compared}.", details

    def check_dicom(self) -> tuple[str, dict[str, Any]]:
        syntaxes = dicom_syntaxes()
        recorded = dict(self.manifest.runtime.get("dicom_syntaxes", {})) if self.manifest is not None else {}
        details: dict[str, Any] = {"syntaxes": syntaxes, "recorded": recorded}
        lost = [f"{syntax} ({', '.join(plugins) or 'pydicom'})" for syntax, plugins in recorded.items() if not set(plugins) <= set(syntaxes.get(syntax, ()))]
        if lost:
            raise CheckFailed(f"the build could decode {', '.join(lost)}, this installation cannot.", details)
        compressed = sorted(s for s, plugins in syntaxes.items() if plugins)
        return f"{len(syntaxes)} transfer syntaxes decodable, {len(compressed)} of them compressed.", details
