"""The soft-tissue parameters the query preview shows at the examiner's strength (kept apart
from :mod:`.jobs`, which runs the preview, for its length)."""

from __future__ import annotations

import json
from typing import Any

from crossid_desktop.paths import resource_path

#: soft-tissue parameters derived in proportion to the strength (see ``SoftTissueParams``)
_PROPORTIONAL = ("soft_ceiling", "knee", "lift")


def soft_tissue_at(strength: float) -> dict[str, Any]:
    """The soft-tissue parameters of the bundled skull-to-face matcher (its card) moved to
    ``strength``: at the card's own strength exactly what the matcher sees; elsewhere the
    parameters that grow with the strength scaled in proportion and ``amount`` derived as the
    algorithm derives it (``1 - (1 - strength)^2``)."""
    card = json.loads(resource_path("models", "skull2face.json").read_text(encoding="utf-8"))
    recipe = dict(card.get("preprocessing", {}).get("query", {}).get("soft_tissue") or {})
    trained = float(recipe.get("strength", 0.0))
    if strength == trained or trained <= 0:
        return {**recipe, "strength": strength} if trained > 0 else {"strength": strength}
    moved = {**recipe, "strength": strength, "amount": 1.0 - (1.0 - strength) ** 2}
    for name in _PROPORTIONAL:
        if recipe.get(name) is not None:
            moved[name] = float(recipe[name]) * strength / trained
    return moved
