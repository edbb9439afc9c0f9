"""The report's comparison pages: one page for each of the first candidates and for every
candidate the examiner marked or wrote a note on.

Each page shows the query and the candidate's photo side by side at a size a reader can
compare, the rank, the similarity score, the likelihood ratio with its verbal scale and what
it means in a sentence, and the examiner's mark and note. Below, the evidence the search
recorded beyond the score (:mod:`~crossid_desktop.cases.report_evidence`): for an X-ray query
the skull-face overlay, the landmark table and the consistency statement; for an injured face
the parts of the face the search left out. Where the search recorded none, the page says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossid_desktop.anatomy.landmarks import find_landmark
from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.fonts import markup
from crossid_desktop.cases.marks import Mark
from crossid_desktop.cases.report_evidence import craniofacial_views, ignored_regions, tint_regions, with_figures
from crossid_desktop.cases.report_figures import QueryPictures, display_bytes, flowable
from crossid_desktop.cases.report_method import percent
from crossid_desktop.cases.report_sections import data_table, para
from crossid_desktop.search.service import Candidate

#: how many of the first candidates get a comparison page whether marked or not
TOP_CANDIDATES = 3
#: characters of a note a comparison page prints before the rest goes to the appendix
NOTE_LIMIT = 1_500
#: characters of a candidate's id and name in a page's title
TITLE_LIMIT = 200
#: the tallest a picture of the side-by-side figure may be (points); lower when the page also
#: holds two X-ray views' overlays
FIGURE_HEIGHT = 255.0
FIGURE_HEIGHT_WITH_TWO_VIEWS = 145.0
#: the longest landmark description the table adds to a landmark's name (characters)
DESCRIPTION_LIMIT = 50
#: the side of a skull-face overlay picture (points)
OVERLAY_SIZE = 135.0


def compared_candidates(c: Any) -> list[Candidate]:
    """The candidates that get a page: the first :data:`TOP_CANDIDATES` and every one the
    examiner marked or noted, in rank order (``c`` a ``ReportContent``)."""
    if c.search is None:
        return []
    return [x for x in c.search.result.candidates if x.rank <= TOP_CANDIDATES or c.case.mark_of(x.subject_id) is not None]


def comparison_pages(c: Any, s: dict[str, Any]) -> list[Any]:
    """The comparison section: a heading, then one page per compared candidate."""
    from reportlab.platypus import PageBreak  # reportlab loads only when a PDF is written

    chosen = compared_candidates(c)
    if not chosen:
        return []
    intro = text.COMPARISONS_INTRO.format(top=TOP_CANDIDATES)
    if any(x.craniofacial for x in chosen):
        intro += " " + text.CRANIOFACIAL_EXPLAINED
        bound = recorded_bound(c.search.result)
        if bound:
            intro += " " + text.CRANIOFACIAL_BOUND_EXPLAINED.format(times=f"{1.0 / bound:,.0f}")
    elif any(q.ignored for q in c.search.result.queries):
        intro += " " + text.INJURY_EXPLAINED
    out: list[Any] = [para(text.heading("comparisons"), s["h2"]), para(intro, s["body"])]
    for candidate in chosen:
        out += [PageBreak(), *candidate_page(c, s, candidate)]
    ranked = {x.subject_id for x in c.search.result.candidates}
    elsewhere = [subject for subject, m in c.case.marks.items() if subject not in ranked and m.mark is not Mark.NONE]
    if elsewhere:
        out.append(para(markup(text.COMPARISON_MARKED_ELSEWHERE.format(subjects=", ".join(sorted(elsewhere)))), s["body"]))
    return [*out, PageBreak()]


def candidate_page(c: Any, s: dict[str, Any], x: Candidate) -> list[Any]:
    """One candidate's page."""
    who = c.appendix.cell(f"{x.subject_id} {x.name}".strip(), text.SHORTENED["candidate"].format(rank=x.rank), TITLE_LIMIT)
    out: list[Any] = [para(text.COMPARISON_TITLE.format(rank=x.rank, who=who), s["h3"]), side_by_side(c, s, x)]
    out.append(data_table(_score_rows(c, s, x), [110, c.width - 110]))
    if any(q.modality.startswith("xray") for q in c.search.result.queries):
        out += craniofacial_section(c, s, x)
    elif any(q.modality == "injured_face" for q in c.search.result.queries):
        out += injury_section(c, s)
    return out


def side_by_side(c: Any, s: dict[str, Any], x: Candidate):
    """The query picture(s) and the candidate's photo in one row, with captions."""
    from reportlab.platypus import Table, TableStyle  # reportlab loads only when a PDF is written

    queries = list(zip(c.search.result.queries, c.queries))
    columns = len(queries) + 1
    cell = (c.width - 8 * columns) / columns
    height = FIGURE_HEIGHT_WITH_TWO_VIEWS if len(queries) > 1 and x.craniofacial else FIGURE_HEIGHT
    pictures, captions = [], []
    for info, shown in queries:
        picture, caption = _query_picture(info.modality, shown)
        pictures.append(flowable(display_bytes(picture), cell, height) if picture is not None else para(markup(text.QUERY_NOT_SHOWN.format(why=shown.problem or text.QUERY_PICTURE_MISSING)), s["body"]))
        captions.append(para(caption, s["caption"]))
    photo = c.thumbnails.get(x.image_id)
    pictures.append(flowable(photo, cell, height) if photo else para(text.CANDIDATE_NOT_SHOWN, s["body"]))
    captions.append(para(text.CAPTION_CANDIDATE.format(rank=x.rank), s["caption"]))
    table = Table([pictures, captions], colWidths=[cell + 8] * columns)
    table.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, 0), "MIDDLE"), ("VALIGN", (0, 1), (-1, 1), "TOP")]))
    return table


def _query_picture(modality: str, shown: QueryPictures):
    """The query as the page shows it: the X-ray as searched; the aligned face crop (the
    frame the candidate's photo is in) for a face, or the photo as searched without one."""
    if modality == "injured_face" and shown.preprocessed is not None:
        return shown.preprocessed, text.CAPTION_QUERY["injured_face"]
    return shown.original, text.CAPTION_QUERY.get(modality, text.CAPTION_QUERY_ORIGINAL) if modality.startswith("xray") else text.CAPTION_QUERY_ORIGINAL


def _score_rows(c: Any, s: dict[str, Any], x: Candidate) -> list[list[Any]]:
    r = c.search.result
    rank = text.RANK_OF.format(rank=x.rank, candidates=len(r.candidates), people=f"{r.gallery_subjects:,}")
    if x.craniofacial:  # an X-ray candidate's score is its likelihood ratio on a 0-100 % scale
        score, score_label = text.SCORE_VALUE_RATIO.format(score=f"{100 * x.confidence:.1f} %"), text.ROW_SCORE_RATIO
    else:
        score, score_label = text.SCORE_VALUE.format(score=f"{100 * x.confidence:.1f} %", distance=x.distance), text.ROW_SCORE
    rows = [(text.ROW_RANK, rank), (score_label, score), (text.ROW_RATIO, ratio_words(c, x))]
    mark = c.case.mark_of(x.subject_id)
    cells = [[para(f"<b>{label}</b>", s["cell"]), para(markup(value), s["cell"])] for label, value in rows]
    if mark is not None and mark.mark is not Mark.NONE:
        actor = c.appendix.cell(mark.actor, text.SHORTENED["marked_by"].format(subject=x.subject_id[:40]), 200)
        marked = text.MARK_VALUE.format(mark=markup(mark.mark.label), actor=actor, date=markup(mark.updated[:10]))
    else:
        marked = text.MARK_NONE
    note = c.appendix.cell(mark.note, text.SHORTENED["note"].format(subject=x.subject_id[:40]), NOTE_LIMIT) if mark is not None and mark.note else text.NOTE_NONE
    cells += [[para(f"<b>{text.ROW_MARK}</b>", s["cell"]), para(marked, s["cell"])], [para(f"<b>{text.ROW_NOTE}</b>", s["cell"]), para(note, s["cell"])]]
    return cells


def ratio_words(c: Any, x: Candidate) -> str:
    """The likelihood ratio, its verbal scale and a sentence saying what it means."""
    if x.likelihood_ratio is None:
        several = len(c.search.result.queries) > 1 and c.search.matcher_card.get("calibration")
        return text.RATIO_NONE_SEVERAL if several else text.RATIO_NONE_UNCALIBRATED
    lr = x.likelihood_ratio
    value = text.RATIO_VALUE.format(lr=f"{lr:.3g}", verbal=x.verbal_scale or "")
    if lr > 1:
        sentence = text.RATIO_SAME.format(times=f"{lr:.3g}")
    elif lr < 1:
        sentence = text.RATIO_DIFFERENT.format(times=f"{1 / lr:.3g}" if lr > 0 else "∞")
    else:
        sentence = text.RATIO_EVEN
    return f"{value}. {sentence}"


def craniofacial_section(c: Any, s: dict[str, Any], x: Candidate) -> list[Any]:
    """The skull-face overlay, landmark table and consistency statement of each X-ray view,
    or the sentence that none was recorded."""
    out: list[Any] = [para(text.CRANIOFACIAL_HEADING, s["h3"])]
    views, problem = craniofacial_views(x.craniofacial)
    views = with_figures(views, c.craniofacial, x.subject_id)
    if c.craniofacial_note:
        out.append(para(markup(c.craniofacial_note), s["body"]))
    if problem:
        return out + [para(markup(problem), s["body"])]
    if not views:
        return out + [para(markup(text.CRANIOFACIAL_NOT_RECORDED.format(matcher=c.search.result.matcher_name)), s["body"])]
    together = overall_exclusion(x.craniofacial)
    for view in views:
        name = text.CRANIOFACIAL_VIEW.get(view.view, view.view)
        said = _statement(view, name) + (text.CRANIOFACIAL_SEE_OVERALL if together and view.status == "consistent" else "")
        statement = para(markup(said), s["statement"])
        shown = view.status != "not assessable" and (view.overlay_png is not None or view.overlay_problem or view.landmarks)
        out += [_view_row(c, s, view, name, statement)] if shown else [statement, *(para(markup(note), s["small"]) for note in view.notes)]
    if together:
        out.append(para(markup(text.CRANIOFACIAL_TOGETHER.format(statement=together)), s["statement"]))
    return out


def overall_exclusion(record: Any) -> str:
    """The recorded statement of a person excluded on the likelihood-ratio bound while each view
    lay within tolerance; "" otherwise."""
    if isinstance(record, Mapping) and record.get("status") == "inconsistent" and record.get("basis") == "likelihood ratio":
        return str(record.get("statement") or "")
    return ""


def recorded_bound(result: Any) -> float | None:
    """The exclusion's likelihood-ratio bound the recorded search applied (None: none, or a search
    recorded before the bound existed)."""
    record = getattr(result, "craniofacial", None)
    bound = record.get("lr_limit") if isinstance(record, Mapping) else None
    return float(bound) if isinstance(bound, (int, float)) and not isinstance(bound, bool) and 0.0 < bound < 1.0 else None


def _view_row(c: Any, s: dict[str, Any], view: Any, name: str, statement: Any):
    """One view's overlay (or why there is none) beside its landmark table and the statement."""
    from reportlab.platypus import Table, TableStyle  # reportlab loads only when a PDF is written

    side = OVERLAY_SIZE
    if view.overlay_png is not None:
        picture = [flowable(view.overlay_png, side, side), para(markup(text.CRANIOFACIAL_OVERLAY_CAPTION.format(view=name)), s["caption"])]
    else:
        picture = [para(markup(view.overlay_problem or text.CRANIOFACIAL_NO_OVERLAY.format(view=name)), s["cell"])]
    width = c.width - side - 14
    if view.landmarks:
        head = [para(f"<b>{markup(h.format(unit=view.unit))}</b>", s["small"]) for h in text.CRANIOFACIAL_TABLE_HEAD]
        rows = [head] + [[para(_landmark(c, m.name, view.view), s["small"]), para(_distance(m.residual), s["small"]),
                          para(_distance(m.tolerance), s["small"]), para(text.CRANIOFACIAL_WITHIN[m.within], s["small"])] for m in view.landmarks]
        table = data_table(rows, [width - 140, 50, 50, 40], header=True, zebra=True)
    else:
        table = para(text.CRANIOFACIAL_NO_LANDMARKS, s["cell"])
    notes = [para(markup(note), s["small"]) for note in view.notes]
    row = Table([[picture, [table, statement, *notes]]], colWidths=[side + 14, width], splitInRow=1)  # a long landmark table runs on
    row.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (0, -1), 10)]))
    return row


def _landmark(c: Any, name: str, view: str) -> str:
    """A face landmark's name and, where the landmark table has one, what it is in words."""
    try:
        described = find_landmark(f"face-{view}", name).description.split(" (")[0]
    except ValueError:
        described = ""
    words = name.replace("_", " ")
    cell = c.appendix.cell(words, text.SHORTENED["landmark"], 80)
    return cell + (f": {markup(described)}" if described and len(described) <= DESCRIPTION_LIMIT else "")


def _statement(view: Any, name: str) -> str:
    template = text.CRANIOFACIAL_STATEMENT[view.status]
    landmarks = text.AND.join(", ".join(n.replace("_", " ") for n in view.excluding).rsplit(", ", 1)) or text.CRANIOFACIAL_SOME_LANDMARKS
    reasons = "; ".join(view.reasons) or text.CRANIOFACIAL_NO_REASON
    return template.format(view=name, landmarks=landmarks, reasons=reasons)


def _distance(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def transplant_k(preprocessing: Any) -> int:
    """How many nearest photos the search re-ranked by the occlusion transplant (its recorded
    recipe; 0 when it left the unreliable parts out or completed them instead)."""
    return int(_injury_recipe(preprocessing).get("transplant_k") or 0)


def transplant_words(preprocessing: Any) -> str:
    """The gallery photographs the transplant went into, and how a person's score was made of
    them (the recorded recipe's ``transplant_scope`` and ``transplant_fusion``)."""
    recipe = _injury_recipe(preprocessing)
    k = transplant_k(preprocessing)
    where = text.TRANSPLANT_SUBJECTS if recipe.get("transplant_scope") == "subjects" else text.TRANSPLANT_PHOTOS
    return where.format(k=k) + text.TRANSPLANT_FUSION.get(str(recipe.get("transplant_fusion") or "min"), "")


def _injury_recipe(preprocessing: Any) -> dict[str, Any]:
    return ((preprocessing or {}).get("query") or {}).get("injury_aware") or {}


def injury_section(c: Any, s: dict[str, Any]) -> list[Any]:
    """The parts of the query face the search left out, tinted on the aligned face, or the
    sentence that none were recorded."""
    from reportlab.platypus import Table  # reportlab loads only when a PDF is written

    out: list[Any] = [para(text.INJURY_HEADING, s["h3"])]
    for info, shown in zip(c.search.result.queries, c.queries):
        regions, problem = ignored_regions(info.ignored)
        if problem:
            out.append(para(markup(problem), s["body"]))
        elif regions is None:
            out.append(para(text.INJURY_NOT_RECORDED, s["body"]))
        else:
            k = transplant_k(c.search.result.preprocessing)
            words = (text.INJURY_RECORDED_TRANSPLANT if k else text.INJURY_RECORDED).format(share=percent(regions.fraction), source=text.INJURY_SOURCE[regions.source],
                                                                                              targets=transplant_words(c.search.result.preprocessing))
            if shown.preprocessed is None:
                out.append(para(markup(words), s["body"]))
                continue
            picture = flowable(display_bytes(tint_regions(shown.preprocessed, regions.mask)), 150, 150)
            table = Table([[picture, para(markup(words), s["body"])], [para(text.INJURY_CAPTION, s["caption"]), ""]], colWidths=[165, c.width - 165])
            table.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])
            out.append(table)
    return out
