"""The report's technical appendix: one compact, labelled table of what a reviewing expert
needs (model, version, fingerprint, training data, test, calibration, preprocessing, gallery
and index, software), pointing to the attached case record for everything else.

The rows are worded from the model card and the search the case recorded; the complete model
card and case record travel as the attached JSON file
(:mod:`~crossid_desktop.cases.report_record`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossid_desktop.about import describe_device
from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.fonts import markup
from crossid_desktop.cases.records import RecordedSearch
from crossid_desktop.cases.report_sections import data_table, para
from crossid_desktop.cases.report_validation import training_of, validation_of

#: software the appendix names, in this order (the environment a search recorded)
SOFTWARE = ("crossid_desktop", "python", "torch", "torchvision", "dlib", "opencv", "numpy", "hnswlib", "pydicom", "reportlab", "qt")
#: characters of a preprocessing description before it is cut (the record holds all of it)
RECIPE_LIMIT = 600
#: characters of any value in the table before the rest goes to the appendix of long texts
VALUE_LIMIT = 900


def technical_rows(search: RecordedSearch, *, record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The appendix table as (label, value) pairs; ``record`` names the attached file
    (``name``, ``size``, ``sha256``, ``beside``)."""
    card, r, env = search.matcher_card, search.result, search.environment
    label = text.TECHNICAL_ROWS
    software = (card.get("software") or {}).get("crossid_desktop", "?") if isinstance(card.get("software"), Mapping) else "?"
    rows = [
        (label["matcher"], text.TECHNICAL_MATCHER.format(name=r.matcher_name, task=card.get("task", "?"), backbone=card.get("backbone", "?"), dim=card.get("embedding_dim", "?"))),
        (label["version"], _version(card, software)),
        (label["fingerprint"], r.matcher_fingerprint),
        (label["weights"], str(card.get("weights_sha256") or text.TECHNICAL_NOT_RECORDED)),
        (label["training"], _training(card)),
        (label["training_command"], _command((card.get("training") or {}).get("command") if isinstance(card.get("training"), Mapping) else None)),
        (label["test"], _test(search)),
        (label["calibration"], _calibration(card.get("calibration"))),
        (label["query_preprocessing"], describe((r.preprocessing or {}).get("query"))),
        (label["gallery_preprocessing"], describe((r.preprocessing or {}).get("gallery"))),
        (label["index"], text.TECHNICAL_INDEX.format(subjects=f"{r.gallery_subjects:,}", images=f"{r.gallery_images:,}", digest=r.gallery_digest,
                                                     rank_by=r.rank_by, ms=f"{r.timings_ms.get('total', 0):.0f}")),
        (label["software"], ", ".join(f"{name} {env[name]}" for name in SOFTWARE if env.get(name)) or text.TECHNICAL_NOT_RECORDED),
        (label["platform"], _platform(env)),
        (label["record"], text.TECHNICAL_RECORD.format(**record)),
    ]
    return rows


def _version(card: Mapping[str, Any], software: str) -> str:
    """The card's format, creation time and software; a card that records no creation time (a
    fitted model's card, whose refit command says how it was made) says none."""
    if card.get("created") is None:
        return text.TECHNICAL_VERSION_UNDATED.format(format=card.get("format_version", "?"), software=software)
    return text.TECHNICAL_VERSION.format(format=card.get("format_version", "?"), created=str(card["created"])[:19], software=software)


def _training(card: Mapping[str, Any]) -> str:
    training = training_of(card)
    if training.text:
        return training.text
    data = (card.get("training") or {}).get("data") if isinstance(card.get("training"), Mapping) else None
    if not isinstance(data, Mapping):
        return text.TECHNICAL_NOT_RECORDED
    if training.synthetic:
        kind = text.TECHNICAL_KIND_GENERATOR.format(generator=training.generator) if training.generator else text.TECHNICAL_KIND_SYNTHETIC
    else:
        kind = text.TECHNICAL_KIND_UNSTATED
    cohort = data.get("synthetic_cohort") if isinstance(data.get("synthetic_cohort"), Mapping) else {}
    seed = text.TECHNICAL_SEED.format(seed=cohort["seed"]) if "seed" in cohort else ""
    return text.TECHNICAL_TRAINING.format(people=data.get("n_subjects", "?"), kind=kind + seed, train=data.get("n_train_subjects", "?"),
                                          val=data.get("n_val_subjects", "?"), split=data.get("split", "?"))


def _command(command: Any) -> str:
    if isinstance(command, (list, tuple)):
        return " ".join(str(part) for part in command)
    return str(command) if command else text.TECHNICAL_NOT_RECORDED


def _test(search: RecordedSearch) -> str:
    v = validation_of(search.matcher_card, [q.modality for q in search.result.queries])
    if v is None:
        return text.TECHNICAL_NOT_RECORDED
    figures = ", ".join(text.TECHNICAL_TEST_FIGURE.format(k=f.k, found=f.found) for f in v.figures)
    block = text.TECHNICAL_TEST_BLOCK.format(block=v.block) + (text.TECHNICAL_TEST_CONFIGURATION.format(configuration=v.configuration) if v.configuration else "")
    parts = [block, figures, text.TECHNICAL_TEST_PEOPLE.format(people=v.people) if v.people else "",
             text.TECHNICAL_TEST_SEARCHES.format(searches=v.searches) if v.searches else "",
             text.TECHNICAL_TEST_GALLERY.format(photos=v.gallery_photos) if v.gallery_photos else "",
             text.TECHNICAL_TEST_CLLR.format(cllr=v.cllr) if v.cllr is not None else "", v.command]
    return "; ".join(p for p in parts if p)


def _calibration(calibration: Any) -> str:
    if not isinstance(calibration, Mapping):
        return text.TECHNICAL_NOT_RECORDED
    number = lambda value: f"{value:.3f}" if isinstance(value, (int, float)) else "?"  # noqa: E731
    fitted = text.TECHNICAL_CALIBRATION.format(method=calibration.get("method", "?"), genuine=calibration.get("n_genuine", "?"),
                                               impostor=calibration.get("n_impostor", "?"), score=calibration.get("score_name", "?"))
    if calibration.get("cllr") is None and calibration.get("cllr_min") is None:
        return fitted  # a calibration measured elsewhere (a fused matcher's Cllr is its test figure, in the test row)
    return fitted + text.TECHNICAL_CALIBRATION_CLLR.format(cllr=number(calibration.get("cllr")), cllr_min=number(calibration.get("cllr_min")))


def describe(recipe: Any, limit: int = RECIPE_LIMIT) -> str:
    """A preprocessing recipe in one line: ``key value`` pairs, nested ones in brackets,
    number lists shortened, cut at ``limit`` characters."""
    if not isinstance(recipe, Mapping) or not recipe:
        return text.TECHNICAL_NOT_RECORDED
    words = _words(recipe)
    return words if len(words) <= limit else words[: limit - 1] + "…"


def _words(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{str(k).replace('_', ' ')} {_words(v) if not isinstance(v, Mapping) else '(' + _words(v) + ')'}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_words(v) for v in value) + "]"
    return str(value)


def _platform(env: Mapping[str, Any]) -> str:
    return text.TECHNICAL_DEVICE.format(platform=env.get("platform") or text.TECHNICAL_NOT_RECORDED, device=describe_device(dict(env)))


def technical_appendix(c: Any, s: dict[str, Any]) -> list[Any]:
    """The appendix section (``c`` a ``ReportContent``)."""
    from reportlab.platypus import PageBreak  # reportlab loads only when a PDF is written

    if c.search is None:
        return []
    out: list[Any] = [PageBreak(), para(text.heading("technical"), s["h2"]), para(markup(text.TECHNICAL_INTRO.format(name=c.record_file["name"])), s["intro"])]
    rows = technical_rows(c.search, record=c.record_file)
    cells = [[para(f"<b>{markup(k)}</b>", s["cell"]), para(c.appendix.cell(v, text.SHORTENED["technical"].format(label=k), VALUE_LIMIT), s["small"])] for k, v in rows]
    out.append(data_table(cells, [105, c.width - 105], zebra=True))
    if c.model_card is None:
        out.append(para(text.TECHNICAL_MODEL_CARD_MISSING, s["body"]))
    return out
