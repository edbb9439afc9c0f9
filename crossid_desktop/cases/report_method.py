"""The report's method page: what the matcher does, how it was tested and what that showed, in
words a reader outside engineering can follow, with one small chart.

Every sentence is a template of :mod:`~crossid_desktop.cases.report_strings` filled from the
model card the case recorded with the search (:mod:`~crossid_desktop.cases.report_validation`
reads it); nothing is written per report. The parameters a reviewing expert needs are in the
technical appendix (:mod:`~crossid_desktop.cases.report_technical`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossid_desktop.cases import report_strings_method as text
from crossid_desktop.cases.fonts import SANS, markup, register_fonts
from crossid_desktop.cases.records import RecordedSearch
from crossid_desktop.cases.report_strings import heading
from crossid_desktop.cases.report_validation import Training, Validation, training_of, validation_of

#: the rank the method page names beside rank 1 ("among the first 10")
TOP_K = 10


def percent(share: float) -> str:
    """A share (0..1) as a percentage: one decimal below 10 %, none above."""
    value = 100.0 * share
    return (text.PERCENT_SMALL if value < 10 and round(value, 1) != round(value) else text.PERCENT).format(value=value)


def matcher_sentences(search: RecordedSearch) -> list[str]:
    """What the matcher does, what it learned from, how it was tested and what that showed."""
    card = search.matcher_card
    method = str(card.get("method") or card.get("task", ""))  # "method" names a fused matcher's way of ranking
    does = text.MATCHER_DOES.get(method)
    dim = card.get("embedding_dim", "?")
    scores = text.SCORES_SHOWN_BY.get(method, text.SCORES_SHOWN)
    sentences = [does.format(dim=dim) + " " + scores if does else text.MATCHER_DOES_UNKNOWN.format(name=search.result.matcher_name)]
    sentences.append(_training_sentence(training_of(card)))
    validation = validation_of(card, [q.modality for q in search.result.queries])
    sentences.append(validation_sentences(validation) if validation else text.NOT_TESTED)
    return sentences


def _training_sentence(training: Training) -> str:
    if training.people:
        kind = _kind(training.synthetic, training.generator)
        if training.training_people:
            return text.TRAINED_COUNTED.format(people=training.people, kind=kind, training_people=training.training_people)
        return text.TRAINED_COUNTED_ONLY.format(people=training.people, kind=kind)
    if training.text:
        return text.TRAINED_TEXT.format(text=training.text.rstrip("."))
    return text.TRAINED_UNKNOWN


def _kind(synthetic: bool | None, generator: str = "") -> str:
    if synthetic is None:
        return text.KIND_UNKNOWN
    if not synthetic:
        return text.KIND_REAL
    return text.KIND_SYNTHETIC.format(generator=generator) if generator else text.KIND_SYNTHETIC_PLAIN


def validation_sentences(v: Validation) -> str:
    """The test in words: how many people, what share came first and in the top ``k``, and
    what chance would give."""
    first = v.at(1)
    top = v.at(TOP_K) or (v.figures[-1] if v.figures else None)
    if first is None or top is None:
        return text.NOT_TESTED
    kind = _kind(v.synthetic)
    out = text.TESTED.format(searches=v.searches, people=v.people or "?", kind=kind) if v.searches else text.TESTED_PEOPLE_ONLY.format(people=v.people or "?", kind=kind)
    out += text.TESTED_FOUND.format(first=percent(first.found), k=top.k, top=percent(top.found))
    if v.held_out != "test":
        out += text.TESTED_VALIDATION_CAVEAT
    if v.repeated:
        out += text.TESTED_REPEATED
    if first.chance is not None and top.chance is not None:
        out += " " + text.CHANCE.format(first=percent(first.chance), k=top.k, top=percent(top.chance))
    if v.configuration in text.CONFIGURATION:
        out += " " + text.CONFIGURATION[v.configuration]
    return out


def ratio_sentences(search: RecordedSearch) -> str:
    """What the likelihood ratios are, and how good they are (Cllr in words)."""
    calibration = search.matcher_card.get("calibration")
    if not isinstance(calibration, Mapping):
        return text.NOT_CALIBRATED
    if len(search.result.queries) > 1 and not calibration.get("several_queries"):  # a fused X-ray matcher combines them itself
        return text.NO_RATIO_FOR_SEVERAL_QUERIES
    out = text.CALIBRATED.format(genuine=_count(calibration.get("n_genuine")), impostor=_count(calibration.get("n_impostor")))
    validation = validation_of(search.matcher_card, [q.modality for q in search.result.queries])
    cllr, where = (validation.cllr, text.CLLR_WHERE_TEST) if validation and validation.cllr is not None else (calibration.get("cllr"), text.CLLR_WHERE_FIT)
    if isinstance(cllr, (int, float)):
        words = next(w for bound, w in text.CLLR_WORDS if cllr < bound)
        out += " " + text.CLLR.format(cllr=f"{cllr:.2f}", where=where, words=words)
    return out


def not_covered(search: RecordedSearch) -> list[str]:
    """What the figures do not cover, for this search."""
    validation = validation_of(search.matcher_card, [q.modality for q in search.result.queries])
    items: list[str] = []
    if validation is not None:
        if validation.synthetic:
            items.append(text.NOT_COVERED_SYNTHETIC)
        elif validation.synthetic is None:
            items.append(text.NOT_COVERED_UNKNOWN_KIND)
        if validation.people and search.result.gallery_subjects > validation.people:
            items.append(text.NOT_COVERED_GALLERY.format(searched=f"{search.result.gallery_subjects:,}", tested=f"{validation.people:,}"))
    xray = any(q.modality.startswith("xray") for q in search.result.queries)
    return [*items, *text.NOT_COVERED_ALWAYS, text.NOT_COVERED_CONDITIONS["xray" if xray else "face"]]


def _count(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, (int, float)) else "?"


def method_page(c: Any, s: dict[str, Any]) -> list[Any]:
    """The method section's flowables (``c`` a ``ReportContent``)."""
    from reportlab.platypus import ListFlowable, ListItem, PageBreak, Paragraph  # reportlab loads only when a PDF is written

    if c.search is None:
        return []
    does, trained, tested = matcher_sentences(c.search)
    out: list[Any] = [PageBreak(), Paragraph(heading("method"), s["h2"]), Paragraph(markup(does), s["body"]), Paragraph(markup(trained + " " + tested), s["body"])]
    validation = validation_of(c.search.matcher_card, [q.modality for q in c.search.result.queries])
    if validation is not None and validation.figures:
        out.append(recall_chart(validation, width=min(c.width, 330.0)))
    out.append(Paragraph(markup(ratio_sentences(c.search)), s["body"]))
    items = [ListItem(Paragraph(markup(item), s["body"]), leftIndent=10) for item in not_covered(c.search)]
    out += [Paragraph(text.NOT_COVERED_HEADING, s["h3"]), ListFlowable(items, bulletType="bullet", start="•", leftIndent=10)]
    return out


def recall_chart(v: Validation, *, width: float, height: float = 150.0):
    """Grouped bars: the share of test searches with the right person within the first k,
    for the matcher and (where known) for a random order of the same gallery."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart  # reportlab loads only when a PDF is written
    from reportlab.graphics.charts.legends import Legend  # reportlab loads only when a PDF is written
    from reportlab.graphics.shapes import Drawing, String  # reportlab loads only when a PDF is written
    from reportlab.lib import colors  # reportlab loads only when a PDF is written

    register_fonts()
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 34, 34, width - 130, height - 58
    series = [[round(100 * f.found, 1) for f in v.figures]]
    with_chance = all(f.chance is not None for f in v.figures)
    if with_chance:
        series.append([round(100 * (f.chance or 0.0), 1) for f in v.figures])
    chart.data = series
    chart.categoryAxis.categoryNames = [str(f.k) for f in v.figures]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 25
    for axis in (chart.categoryAxis.labels, chart.valueAxis.labels):
        axis.fontName, axis.fontSize = SANS, 7
    palette = (colors.HexColor("#1f5fa8"), colors.HexColor("#b8bec6"))
    for n in range(len(series)):
        chart.bars[n].fillColor, chart.bars[n].strokeColor = palette[n], None
    chart.barLabelFormat = "%.0f"
    chart.barLabels.fontName, chart.barLabels.fontSize, chart.barLabels.nudge = SANS, 6, 6
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = chart.x + chart.width + 12, chart.y + chart.height - 4
    legend.fontName, legend.fontSize, legend.dx, legend.dy, legend.alignment = SANS, 7, 7, 7, "right"
    legend.colorNamePairs = [(palette[0], text.CHART_MATCHER), *([(palette[1], text.CHART_CHANCE)] if with_chance else [])]
    drawing.add(legend)
    drawing.add(String(chart.x + chart.width / 2, 14, text.CHART_AXIS, fontName=SANS, fontSize=7, textAnchor="middle"))
    drawing.add(String(0, height - 10, text.CHART_TITLE, fontName=SANS, fontSize=7.5))
    return drawing
