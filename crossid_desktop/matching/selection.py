"""Which matcher a workspace uses for which query, and loading it once.

A workspace has two roles: ``xray`` (skull X-ray queries, front or side) and ``injured``
(injured-face queries). Each role names a matcher *spec*: ``"dlib"`` (the pretrained face
matcher), ``"craniofacial"`` (the bundled craniofacial matcher), ``"default-xray"`` (the
craniofacial matcher fused with the Siamese network it was calibrated with: the default for X-ray
queries), ``"bundled:<name>"`` (a model shipped in ``resources/models/<name>.pt``), or the path
of a checkpoint (or of a craniofacial model, ``.npz``). The choice is kept in ``matchers.json`` in the workspace, written atomically;
a workspace without it uses the bundled demo models when they are present.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from crossid_desktop.errors import MatcherMismatchError, ModelError
from crossid_desktop.matching.base import Matcher, QueryModality
from crossid_desktop.matching.craniofacial.matcher import components
from crossid_desktop.matching.matchers import DEFAULT_XRAY_NAME, NAMED_MATCHERS, load_matcher, named_matcher_files
from crossid_desktop.paths import resource_path, write_text_atomic

ROLES = ("xray", "injured")
CONFIG_NAME = "matchers.json"
#: model per role when the workspace names none (the first one present). Injured faces default
#: to ``injured_real``: dlib's pretrained network with each face described with its mirror image,
#: the 20 nearest gallery photos re-ranked by the occlusion transplant of the injury segmenter's
#: mask (or the examiner's brush: ``matching/transplant.py``), a person scored by the mean of
#: their best photo and the centroid of their re-ranked photos, and a likelihood-ratio calibration
#: (a card alone, ``resources/models/injured_real.json``), the best of the variants measured on
#: real photos of held-out people (docs/RESULTS.md section 3); the bundled SCL head was trained
#: on synthetic faces and lowers Rank-1 on real photos, so only the synthetic demo uses it.
#: X-ray queries default to the craniofacial matcher fused with the Siamese network (docs/RESULTS.md).
BUNDLED_DEFAULTS = {"xray": (DEFAULT_XRAY_NAME, "bundled:skull2face"), "injured": ("bundled:injured_real", "dlib")}


def role_of(modality: QueryModality) -> str:
    """The workspace role that serves a query modality."""
    return "xray" if modality.is_xray else "injured"


def check_serves_role(matcher: Matcher, role: str) -> None:
    """Refuse a matcher that takes none of a role's query modalities (an injured-face model as
    the X-ray matcher, say)."""
    wanted = {m for m in QueryModality if role_of(m) == role}
    if not wanted & set(matcher.query_modalities):
        takes = ", ".join(sorted(m.value.replace("_", " ") for m in matcher.query_modalities)) or "no"
        raise MatcherMismatchError(f"The matcher {matcher.name} takes {takes} queries, so it cannot serve {role} queries; choose a {role} model.")


def resolve_spec(spec: str) -> str | Path:
    """``"dlib"``, ``"craniofacial"`` and ``"default-xray"`` stay as they are; ``bundled:<name>``
    and paths become model paths."""
    if spec in NAMED_MATCHERS:
        return spec
    if spec.startswith("bundled:"):  # weights (.pt with a card beside), else a card alone (.json)
        weights = resource_path("models", spec.removeprefix("bundled:") + ".pt")
        card = weights.with_suffix(".json")
        return card if not weights.is_file() and card.is_file() and _card_only(card) else weights
    return Path(spec).expanduser()


def _card_only(card: Path) -> bool:
    """Whether a bundled card describes a matcher without weights (dlib with a recipe)."""
    try:
        return json.loads(card.read_text(encoding="utf-8")).get("network", {}).get("kind") == "dlib"
    except (OSError, ValueError, AttributeError):
        return False


def spec_available(spec: str) -> bool:
    """Whether the files a matcher spec names are there."""
    target = resolve_spec(spec)
    if target in NAMED_MATCHERS:
        return all(path.is_file() for path in named_matcher_files(str(target)))
    return Path(target).is_file()


def read_config(workspace_root: Path) -> dict[str, str]:
    """The matcher spec of every role: the workspace's choice, else the bundled default."""
    config: dict[str, str] = {}
    path = Path(workspace_root) / CONFIG_NAME
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelError(f"The matcher settings {path} cannot be read ({error}); delete the file to use the defaults.") from error
        config.update({role: str(stored[role]) for role in ROLES if stored.get(role)})
    for role in ROLES:
        if role not in config:
            available = [spec for spec in BUNDLED_DEFAULTS[role] if spec_available(spec)]
            if available:
                config[role] = available[0]
    return config


def write_config(workspace_root: Path, role: str, spec: str) -> None:
    """Choose the matcher of a role for this workspace."""
    if role not in ROLES:
        raise MatcherMismatchError(f"Unknown matcher role {role!r}; the roles are {', '.join(ROLES)}.")
    if not spec_available(spec):
        raise ModelError(f"The model {resolve_spec(spec)} does not exist.")
    path = Path(workspace_root) / CONFIG_NAME
    stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    stored[role] = spec
    write_text_atomic(path, json.dumps(stored, indent=2, sort_keys=True))


class MatcherCache:
    """Loads each matcher once and keeps it (the GUI's worker thread owns one of these)."""

    def __init__(self, *, device: str | None = None) -> None:
        self._device = device
        self._loaded: dict[str, Matcher] = {}
        self._lock = threading.Lock()

    def get(self, spec: str) -> Matcher:
        with self._lock:
            if spec not in self._loaded:
                self._loaded[spec] = load_matcher(resolve_spec(spec), device=self._device)
            return self._loaded[spec]

    def card_of(self, fingerprint: str) -> dict[str, Any] | None:
        """The model card of a loaded matcher with this fingerprint (a fused matcher's own card,
        which the gallery does not keep: only its parts have vectors there), or None."""
        with self._lock:
            loaded = list(self._loaded.values())
        return next((m.model_card() for m in loaded if m.fingerprint == fingerprint), None)

    def for_role(self, workspace_root: Path, role: str) -> Matcher:
        config = read_config(workspace_root)
        if role not in config:
            raise ModelError(
                f"No {role} matcher is configured and no bundled one was found; put a checkpoint in "
                f"{resource_path('models')} or choose one with 'crossid matcher set {role} PATH'."
            )
        return self.get(config[role])

    def configured(self, workspace_root: Path) -> list[Matcher]:
        """Every matcher the workspace's gallery needs vectors of, each once (enrolment embeds the
        gallery with all; a fused matcher contributes its parts)."""
        specs = dict.fromkeys(read_config(workspace_root).values())
        found = {m.fingerprint: m for spec in specs for m in components(self.get(spec))}
        return list(found.values())
