"""What a matcher's model card says about its measured reliability, read for the report.

The report's method page states, in words and one chart, how often the matcher put the right
person first and among the first ten when it was tested on people it never saw in training,
next to what a random ordering of the same gallery would give. Everything comes from the
model card the case recorded with the search (:attr:`RecordedSearch.matcher_card`); nothing
is written per report.

The card's ``metrics`` may hold several blocks. A block with ``figures`` whose name starts
with ``test`` (e.g. ``test_fresh_cohort``: a cohort generated with a seed never used in
training) is preferred; then any other block with ``figures``; then the ``validation`` block
that training writes (people held out of training but used to choose when to stop, said so
in the report). Figures are read as ``recall@k`` or ``rankk`` with an optional prefix that
names the query configuration (``front/``, ``side/``, ``fused/`` for a frontal and a lateral
X-ray searched together), matching the search the case made.

The chance level is that of a random ordering of the test gallery: with ``G`` photos of which
``g`` show the right person, the probability that at least one of them is among the first
``k`` is ``1 - C(G - g, k) / C(G, k)`` (:func:`chance_in_top`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: ranks the method page reports, when the card has them
RANKS = (1, 5, 10, 20, 30)


@dataclass(frozen=True)
class RankFigure:
    """The share of test searches (0..1) that found the right person within the first ``k``,
    and the share a random ordering of the same gallery would give."""

    k: int
    found: float
    chance: float | None


@dataclass(frozen=True)
class Validation:
    """The measured reliability a model card records, for the query configuration searched.

    ``held_out``: "test" (people never seen in training nor in choosing the model) or
    "validation" (held out of training, but used to choose when to stop); ``synthetic``: True
    for generated people, False for real ones, None when the card does not say;
    ``repeated``: the figures are means over several random splits.
    """

    held_out: str
    block: str
    searches: int | None
    people: int | None
    gallery_photos: int | None
    photos_per_person: int | None
    synthetic: bool | None
    figures: tuple[RankFigure, ...]
    cllr: float | None
    cllr_min: float | None
    configuration: str  # "", "front", "side" or "fused"
    command: str
    repeated: bool

    def at(self, k: int) -> RankFigure | None:
        """The figure at rank ``k``, if the card has it."""
        return next((f for f in self.figures if f.k == k), None)


def chance_in_top(k: int, gallery_photos: int, relevant: int = 1) -> float:
    """Probability that a random ordering of ``gallery_photos`` photos puts at least one of
    the ``relevant`` photos of the right person among the first ``k``."""
    if gallery_photos <= 0 or relevant <= 0:
        raise ValueError("a gallery needs at least one photo and one of the right person")
    k = min(k, gallery_photos)
    if k > gallery_photos - relevant:
        return 1.0
    return 1.0 - math.comb(gallery_photos - relevant, k) / math.comb(gallery_photos, k)


def configuration_of(modalities: Sequence[str]) -> str:
    """The figures' prefix for a search's query modalities: ``fused`` for two X-rays,
    ``front``/``side`` for one X-ray, "" otherwise."""
    xrays = [m for m in modalities if m.startswith("xray")]
    if len(xrays) >= 2:
        return "fused"
    if len(xrays) == 1:
        return "front" if xrays[0] == "xray_front" else "side"
    return ""


def validation_of(card: Mapping[str, Any], modalities: Sequence[str]) -> Validation | None:
    """The reliability the card records for this query configuration, or None when it
    records none."""
    metrics = card.get("metrics") if isinstance(card, Mapping) else None
    if not isinstance(metrics, Mapping):
        return None
    blocks = [(name, block) for name, block in metrics.items() if isinstance(block, Mapping) and isinstance(block.get("figures"), Mapping)]
    blocks.sort(key=lambda item: not str(item[0]).startswith("test"))
    if blocks:
        name, block = blocks[0]
        return _from_figures(str(name), block, configuration_of(modalities))
    if isinstance(metrics.get("validation"), Mapping):
        return _from_training_validation(metrics["validation"], card.get("training"))
    return None


def _from_figures(name: str, block: Mapping[str, Any], wanted: str) -> Validation | None:
    figures = block["figures"]
    prefixes = [f"{wanted}/", ""] if wanted else [""]
    for prefix in prefixes:
        found = {k: _number(figures.get(f"{prefix}recall@{k}", figures.get(f"{prefix}rank{k}"))) for k in RANKS}
        found = {k: v for k, v in found.items() if v is not None}
        if found:
            break
    else:
        return None
    people = _integer(figures.get("n_test_subjects", block.get("n_subjects")))
    gallery = _integer(figures.get("gallery_size"))
    per_person = gallery // people if gallery and people and gallery % people == 0 else None
    chance = {k: chance_in_top(k, gallery, per_person) if gallery and per_person else None for k in found}
    searches = _integer(figures.get(f"{prefix}n_queries", figures.get("n_queries") if not prefix else None))
    text = " ".join(str(block.get(key, "")) for key in ("command", "data", "notes"))
    return Validation(
        held_out="test" if name.startswith("test") else "validation", block=name, searches=searches, people=people,
        gallery_photos=gallery, photos_per_person=per_person, synthetic=_synthetic(block, text),
        figures=tuple(RankFigure(k, v, chance[k]) for k, v in sorted(found.items())),
        cllr=_number(figures.get("cllr")), cllr_min=_number(figures.get("cllr_min")), configuration=prefix.rstrip("/"),
        command=str(block.get("command", "")), repeated=any(str(key).endswith("_std") for key in figures),
    )


def _from_training_validation(block: Mapping[str, Any], training: Any) -> Validation | None:
    """The figures training writes on its validation people (``val_recall_at_k``)."""
    found = {k: _number(block.get(f"val_recall_at_{k}")) for k in RANKS}
    found = {k: v for k, v in found.items() if v is not None}
    if not found:
        return None
    data = training.get("data") if isinstance(training, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    people = _integer(data.get("n_val_subjects"))
    return Validation(
        held_out="validation", block="validation", searches=_integer(data.get("n_val_queries")), people=people, gallery_photos=None,
        photos_per_person=None, synthetic=_synthetic(data, ""), figures=tuple(RankFigure(k, v, None) for k, v in sorted(found.items())),
        cllr=None, cllr_min=None, configuration="", command="", repeated=False,
    )


@dataclass(frozen=True)
class Training:
    """What the matcher learned from: ``people`` (None when the card does not count them),
    ``synthetic`` as in :class:`Validation`, ``generator`` the version of the program's
    generator that made synthetic people ("" when none), ``text`` the card's own words when it
    gives no counts (e.g. a network trained by its publisher)."""

    people: int | None
    training_people: int | None
    synthetic: bool | None
    generator: str
    text: str


def training_of(card: Mapping[str, Any]) -> Training:
    """The training data a model card records."""
    training = card.get("training") if isinstance(card, Mapping) else None
    data = training.get("data") if isinstance(training, Mapping) else None
    if isinstance(data, str):
        return Training(None, None, None, "", data)
    if not isinstance(data, Mapping):
        return Training(None, None, None, "", "")
    cohort = data.get("synthetic_cohort") if isinstance(data.get("synthetic_cohort"), Mapping) else {}
    generator = str(cohort.get("generator_version", "")) if cohort else ""
    return Training(_integer(data.get("n_subjects")), _integer(data.get("n_train_subjects")), _synthetic(data, ""), generator, "")


def _synthetic(block: Mapping[str, Any], text: str) -> bool | None:
    """True when the block says its people were generated, False when it names them real."""
    flag = block.get("synthetic")
    if isinstance(flag, bool):
        return flag
    if "synthetic_cohort" in block or "crossid synth" in text or "synthetic cohort" in text:
        return True
    if block.get("kind") == "real":
        return False
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None and number > 0 else None
