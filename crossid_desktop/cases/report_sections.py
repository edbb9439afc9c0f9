"""The sections of the case report, each a list of reportlab flowables.

All user text (names, notes, titles, file paths, metadata) goes through
:func:`crossid_desktop.cases.fonts.markup`, so it is shown literally and in a font that covers
its script; in tables through :meth:`~crossid_desktop.cases.report_appendix.Appendix.cell`, so
that text too long for a cell is shortened there and printed whole in the appendix. Fixed
wording about what the list means lives here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crossid_desktop.about import describe_device
from crossid_desktop.cases.audit import AuditEntry, VerifyResult, short_hash
from crossid_desktop.cases.fonts import SANS, SANS_BOLD, markup, register_fonts
from crossid_desktop.cases.marks import Mark
from crossid_desktop.cases.records import Case, RecordedSearch
from crossid_desktop.cases.report_appendix import Appendix, chunks
from crossid_desktop.cases.report_figures import QueryPictures, display_bytes, flowable, score_chart
from crossid_desktop.imaging.dicom import PatientIdentity
from crossid_desktop.imaging.spacing import PixelSpacing
from crossid_desktop.search.service import Candidate

LEAD_STATEMENT = (
    "The ranked list in this report is an investigative lead produced by automated search. "
    "It is not an identification. Any candidate must be compared by a qualified examiner and the "
    "identity established by other evidence (DNA, dental records, fingerprints, documents)."
)

LIMITATIONS = (
    "The matcher ranks every enrolled subject, so a list is produced even when the person is not in "
    "the gallery; the first rank is not necessarily the person sought.",
    "Scores depend on image quality, pose, age difference, injuries and, for skull X-rays, on the "
    "soft-tissue suppression and the view. Error rates measured on validation data (see Method) may "
    "not hold for this case.",
    "Confidence exp(-d²) is a similarity score, not a probability of identity. A likelihood ratio is "
    "given only when the matcher carries a calibration measured on validation subjects; it expresses "
    "how much more probable the score is if the query and the candidate are the same person than if "
    "they are different persons.",
    "Gallery photos are shown as the aligned crops the matcher used; originals are identified by their "
    "SHA-256 in the gallery database.",
    "Text in scripts that need shaping (e.g. Devanagari) is drawn without conjuncts; the characters "
    "are embedded unchanged and can be copied from the PDF.",
)


@dataclass(frozen=True)
class ReportContent:
    """Everything a report shows, gathered before layout."""

    case: Case
    search: RecordedSearch | None
    entries: tuple[AuditEntry, ...]
    verification: VerifyResult
    generated: str  # ISO 8601, UTC
    queries: tuple[QueryPictures, ...] = ()
    thumbnails: Mapping[int, bytes | None] = field(default_factory=dict)  # image id -> PNG, None if gone
    width: float = 495.0  # usable frame width, points
    patient_identifiers: bool = False  # print the DICOM patient's name, ID and birth date (the examiner's choice)
    craniofacial: tuple[Any, ...] = ()  # CraniofacialFigure of the top and marked candidates (crossid_desktop.cases.report_craniofacial)
    craniofacial_note: str | None = None  # where the skull landmarks came from; why the skull-face figures could not be made
    appendix: Appendix = field(default_factory=Appendix, compare=False)  # texts shortened in tables, filled while laying out


def styles() -> dict[str, Any]:
    from reportlab.lib import colors  # reportlab loads only when a PDF is written
    from reportlab.lib.styles import ParagraphStyle  # reportlab loads only when a PDF is written

    register_fonts()
    base = ParagraphStyle("body", fontName=SANS, fontSize=9, leading=12, splitLongWords=1, spaceAfter=4)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName=SANS_BOLD, fontSize=17, leading=22, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base, fontName=SANS_BOLD, fontSize=12, leading=15, spaceBefore=10, spaceAfter=5, keepWithNext=1,
                             textColor=colors.HexColor("#1f3b63")),
        "h3": ParagraphStyle("h3", parent=base, fontName=SANS_BOLD, fontSize=9.5, leading=12, spaceBefore=6, spaceAfter=3, keepWithNext=1),
        "intro": ParagraphStyle("intro", parent=base, keepWithNext=1),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10, spaceAfter=0),
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=8.6, spaceAfter=0),
        "caption": ParagraphStyle("caption", parent=base, fontSize=7, leading=8.6, alignment=1, textColor=colors.HexColor("#444444")),
        "lead": ParagraphStyle("lead", parent=base, fontName=SANS_BOLD, fontSize=9, leading=12, borderColor=colors.HexColor("#b03030"),
                               borderWidth=0.8, borderPadding=6, backColor=colors.HexColor("#fbeeee"), spaceBefore=6, spaceAfter=10),
    }


def data_table(rows: list[list[Any]], widths: list[float], *, header: bool = False, zebra: bool = False, grid: bool = True):
    from reportlab.lib import colors  # reportlab loads only when a PDF is written
    from reportlab.platypus import Table, TableStyle  # reportlab loads only when a PDF is written

    # splitInRow: a row taller than the space left is split across pages instead of failing the layout
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, splitInRow=1)
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9aa5b1"))] if grid else []),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dfe6ee")))
    if zebra:
        commands += [("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f4f6f8")) for r in range(2 if header else 1, len(rows), 2)]
    table.setStyle(TableStyle(commands))
    return table


def _pairs(pairs: list[tuple[str, Any]], s: dict[str, Any], width: float, appendix: Appendix, key_width: float = 120.0):
    from reportlab.platypus import Paragraph  # reportlab loads only when a PDF is written

    rows = [[Paragraph(f"<b>{appendix.cell(k, 'a field name', 120)}</b>", s["cell"]), Paragraph(appendix.cell(v, str(k)[:80]), s["cell"])] for k, v in pairs]
    return data_table(rows, [key_width, width - key_width])


def para(text: str, style: Any):
    """A paragraph of ready markup (pass user text through :func:`markup` first)."""
    from reportlab.platypus import Paragraph  # reportlab loads only when a PDF is written

    return Paragraph(text, style)


def _date(iso: str) -> str:
    return iso.replace("T", " ")[:19] + " UTC" if iso else ""


def _flatten(value: Any, prefix: str = "", limit: int = 40) -> list[tuple[str, str]]:
    """Nested dict -> [("a.b", "value")], at most ``limit`` rows."""
    rows: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key), limit)
    elif isinstance(value, float):
        rows.append((prefix, f"{value:.4g}"))
    elif isinstance(value, (list, tuple)):
        rows.append((prefix, ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)))
    else:
        rows.append((prefix, str(value)))
    return rows[:limit]


def title_block(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    case = c.case
    known = case.known_identity
    pairs = [
        ("Case number", case.case_number), ("Title", case.title or "-"), ("Examiner", case.examiner or "-"), ("Agency", case.agency or "-"),
        ("Case opened", _date(case.created)), ("Last change", _date(case.updated)), ("Report generated", _date(c.generated)),
    ]
    if known is not None:
        pairs.append(("Known identity", " ".join(x for x in (known.subject_id or "", known.name, f"({known.note})" if known.note else "") if x)))
    return [para(f"Case report {markup(case.case_number)}", s["title"]), _pairs(pairs, s, c.width, c.appendix), para(markup(LEAD_STATEMENT), s["lead"])]


def summary(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    out: list[Any] = [para("1. Summary", s["h2"])]
    if c.search is None:
        return out + [para("No search has been recorded in this case.", s["body"])]
    r = c.search.result
    queries = "; ".join(f"{markup(q.path or 'an image in memory')} (SHA-256 {q.sha256[:16]}…, {q.modality.replace('_', ' ')})" for q in r.queries)
    top = ", ".join(f"{markup(x.subject_id)} ({x.confidence * 100:.1f}%)" for x in r.candidates[:3])
    text = (
        f"On {_date(c.search.performed)}, {markup(c.search.actor)} searched {queries} against a gallery of "
        f"{r.gallery_subjects} subjects ({r.gallery_images} photos) with the matcher {markup(r.matcher_name)}. "
        f"{len(r.candidates)} candidates were returned; the first three are {top or 'none'}."
    )
    marked = c.case.of_interest()
    text += f" The examiner marked {len(marked)} candidate(s) as of interest{': ' + ', '.join(markup(m) for m in marked) if marked else ''}."
    status = "intact" if c.verification.ok else f"BROKEN at entry {c.verification.first_broken_seq}"
    text += f" The case's audit log has {c.verification.entries} entries and verifies as {status}."
    warned = [para("<b>Warnings about this search:</b> " + " ".join(c.appendix.cell(w, "a warning", 1000) for w in r.warnings), s["lead"])] if r.warnings else []
    return out + warned + [para(text, s["body"])]


#: query metadata that :func:`query_dicom_pairs` words itself (the rest is printed as it is)
QUERY_META_SHOWN_APART = frozenset({"dicom", "patient", "pixel_spacing", "frame", "frames"})


def query_dicom_pairs(meta: Mapping[str, Any], *, xray: bool, patient_identifiers: bool) -> list[tuple[str, str]]:
    """The frame searched, the pixel spacing of an X-ray and, only when the examiner chose to
    print them, the patient's identifiers named by the DICOM file."""
    pairs = []
    frames = int(meta.get("frames", 1) or 1)
    if frames > 1:
        pairs.append(("Frame", f"{int(meta.get('frame', 0) or 0) + 1} of {frames}"))
    spacing = meta.get("pixel_spacing")
    if xray:
        pairs.append(("Pixel spacing", PixelSpacing.from_dict(spacing).describe() if spacing else "not known: distances on this image are in pixels"))
    if meta.get("patient"):
        shown = PatientIdentity.from_dict(meta["patient"]).describe() if patient_identifiers else "withheld from this report (recorded with the case)"
        pairs.append(("Patient (DICOM)", shown))
    return pairs


def query_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    if c.search is None:
        return []
    out: list[Any] = [para("2. Query", s["h2"])]
    for n, (q, pictures) in enumerate(zip(c.search.result.queries, c.queries), start=1):
        if len(c.search.result.queries) > 1:
            out.append(para(f"Query {n}", s["h3"]))
        meta = {k: v for k, v in q.meta.items() if k not in QUERY_META_SHOWN_APART}
        pairs = [("File", q.path or "-"), ("SHA-256", q.sha256), ("Modality", q.modality.replace("_", " "))]
        pairs += [(k.replace("_", " "), str(v)) for k, v in meta.items()]
        pairs += query_dicom_pairs(q.meta, xray=q.modality.startswith("xray"), patient_identifiers=c.patient_identifiers)
        pairs += [(f"DICOM {k}", str(v)) for k, v in sorted((q.meta.get("dicom") or {}).items())]
        out.append(_pairs(pairs, s, c.width, c.appendix))
        if pictures.problem:
            out.append(para(markup(pictures.problem), s["body"]))
        cells, captions = [], []
        half = (c.width - 20) / 2
        if pictures.original is not None:
            cells.append(flowable(display_bytes(pictures.original), half, 210))
            captions.append(para("original (as searched)", s["caption"]))
        if pictures.preprocessed is not None:
            cells.append(flowable(display_bytes(pictures.preprocessed), half, 210))
            captions.append(para(markup(f"preprocessed: {pictures.preprocessed_caption}"), s["caption"]))
        if cells:
            from reportlab.platypus import Table  # reportlab loads only when a PDF is written

            out.append(Table([cells, captions], colWidths=[half + 10] * len(cells)))
    return out


def method_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    if c.search is None:
        return []
    r, card, env = c.search.result, c.search.matcher_card, c.search.environment
    device = describe_device(env)
    calibration = card.get("calibration")
    if calibration:
        cal = f"{calibration.get('method', '?')} on {calibration.get('n_genuine', '?')} genuine / {calibration.get('n_impostor', '?')} impostor pairs; Cllr {_num(calibration.get('cllr'))} (minimum {_num(calibration.get('cllr_min'))})"
    else:
        cal = "none: the matcher is not calibrated, so no likelihood ratio is reported (confidence only)"
    pairs = [
        ("Matcher", r.matcher_name), ("Fingerprint", r.matcher_fingerprint), ("Task", card.get("task", "-")),
        ("Backbone", card.get("backbone", "-")), ("Embedding size", card.get("embedding_dim", "-")),
        ("Model created", card.get("created", "-")), ("Weights SHA-256", card.get("weights_sha256") or "-"), ("Calibration", cal),
        ("Gallery searched", f"{r.gallery_subjects} subjects, {r.gallery_images} photos, digest {r.gallery_digest}"),
        ("Ranking", f"by {r.rank_by} (a subject's best photo); distance = Euclidean distance of L2-normalised embeddings"),
        ("Search time", f"{r.timings_ms.get('total', 0):.0f} ms"), ("Compute device", device),
    ]
    out: list[Any] = [para("3. Method", s["h2"]), _pairs(pairs, s, c.width, c.appendix)]
    for heading, data in (("Training data", card.get("training")), ("Validation metrics", card.get("metrics")), ("Preprocessing", r.preprocessing)):
        rows = _flatten(data or {})
        out.append(para(heading, s["h3"]))
        out.append(_grid(rows, s, c.width, c.appendix) if rows else para("not recorded in the model card", s["body"]))
    software = [(k, str(v)) for k, v in env.items() if k not in ("workspace",) and v is not None]
    out += [para("Software and platform", s["h3"]), _grid(software, s, c.width, c.appendix) if software else para("not recorded", s["body"])]
    return out


def _grid(pairs: list[tuple[str, Any]], s: dict[str, Any], width: float, appendix: Appendix):
    """Key-value pairs two to a row (four columns)."""
    from reportlab.platypus import Paragraph  # reportlab loads only when a PDF is written

    cells = [[Paragraph(f"<b>{appendix.cell(k, 'a field name', 80)}</b>", s["small"]), Paragraph(appendix.cell(v, str(k)[:80], 300), s["small"])] for k, v in pairs]
    if len(cells) % 2:
        cells.append(["", ""])
    rows = [cells[i] + cells[i + 1] for i in range(0, len(cells), 2)]
    key = width * 0.2
    return data_table(rows, [key, width / 2 - key] * 2)


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def results_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    if c.search is None:
        return []
    candidates = c.search.result.candidates
    calibrated = any(x.likelihood_ratio is not None for x in candidates)
    head = ["Face", "Rank", "Subject", "Name", "Confidence", *(["LR", "Verbal scale"] if calibrated else []), "Distance", "Mark"]
    widths = [46, 28, 62, 100, 52, *([42, 80] if calibrated else []), 46, 45]
    widths[3] += c.width - sum(widths)
    rows: list[list[Any]] = [[para(f"<b>{h}</b>", s["small"]) for h in head]]
    for x in candidates:
        png = c.thumbnails.get(x.image_id)
        face = flowable(png, 40, 40) if png else para("not in gallery", s["small"])
        mark = c.case.mark_of(x.subject_id)
        cells = [face, para(str(x.rank), s["cell"]), para(c.appendix.cell(x.subject_id, f"subject id of rank {x.rank}", 80), s["cell"]),
                 para(c.appendix.cell(x.name or "-", f"name of rank {x.rank} ({x.subject_id[:40]})", 200), s["cell"]), para(f"{x.confidence * 100:.1f}%", s["cell"])]
        if calibrated:
            cells += [para(_lr(x), s["cell"]), para(c.appendix.cell(x.verbal_scale or "-", "verbal scale", 120), s["small"])]
        cells += [para(f"{x.distance:.4f}", s["cell"]), para(markup(mark.mark.label if mark else ""), s["small"])]
        rows.append(cells)
    return [
        para("4. Candidates", s["h2"]),
        para(f"{len(candidates)} candidates, most similar first. Confidence = exp(-d²) of the distance d.", s["intro"]),
        data_table(rows, widths, header=True, zebra=True),
        para("Scores", s["h3"]),
        score_chart(candidates, width=c.width),
    ]


def _lr(candidate: Candidate) -> str:
    return f"{candidate.likelihood_ratio:.3g}" if candidate.likelihood_ratio is not None else "-"


def comparison_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import KeepTogether, Table  # reportlab loads only when a PDF is written

    marked = c.case.of_interest()
    if c.search is None or not marked:
        return []
    heading = [para("5. Candidates of interest: side-by-side", s["h2"])]
    out: list[Any] = []
    by_subject = {x.subject_id: x for x in c.search.result.candidates}
    query = next((q for q in c.queries if q.preprocessed is not None), None)
    side = (c.width - 30) / 2
    for subject in marked:
        x = by_subject.get(subject)
        if x is None:
            continue
        left = flowable(display_bytes(query.preprocessed), side, 190) if query is not None else para("query not available", s["body"])
        png = c.thumbnails.get(x.image_id)
        right = flowable(png, side, 190) if png else para("photo no longer in the gallery", s["body"])
        who = c.appendix.cell(f"{x.subject_id} {x.name}", f"rank {x.rank}", 200)
        figure = Table([[left, right], [para("query (preprocessed)", s["caption"]), para(f"rank {x.rank}: {who}", s["caption"])]], colWidths=[side + 15] * 2)
        mark = c.case.marks.get(subject)
        info = f"Rank {x.rank}, confidence {x.confidence * 100:.1f}%, distance {x.distance:.4f}"
        if x.likelihood_ratio is not None:
            info += f", LR {_lr(x)} ({markup(x.verbal_scale or '')})"
        block = [*heading, para(who, s["h3"]), figure, para(info, s["body"])]
        heading = []  # the section heading stays with its first figure
        if mark and mark.note:
            block.append(para(f"<b>Examiner's note:</b> {c.appendix.cell(mark.note, f'note on {subject[:40]}', 3000)}", s["body"]))
        out.append(KeepTogether(block))
    return out


def notes_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    out: list[Any] = [para("6. Examiner's notes", s["h2"])]
    out += [para(markup(piece), s["body"]) for piece in chunks(c.case.notes)] or [para("No general notes.", s["body"])]
    noted = [m for m in c.case.marks.values() if m.mark is not Mark.NONE or m.note]
    if noted:
        rows = [[para(f"<b>{h}</b>", s["small"]) for h in ("Subject", "Mark", "Note", "By, when")]]
        rows += [[para(c.appendix.cell(m.subject_id, "a subject id", 80), s["cell"]), para(markup(m.mark.label), s["cell"]),
                  para(c.appendix.cell(m.note or "-", f"note on {m.subject_id[:40]}", 1000), s["cell"]),
                  para(c.appendix.cell(f"{m.actor}, {_date(m.updated)}", f"who marked {m.subject_id[:40]}", 200), s["small"])] for m in noted]
        out.append(data_table(rows, [70, 60, c.width - 220, 90], header=True))
    return out


def limitations_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import ListFlowable, ListItem  # reportlab loads only when a PDF is written

    items = ListFlowable([ListItem(para(markup(t), s["body"]), leftIndent=10) for t in LIMITATIONS], bulletType="bullet", start="•", leftIndent=10)
    return [para("7. Limitations", s["h2"]), items, para(markup(LEAD_STATEMENT), s["lead"])]


def audit_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    v = c.verification
    status = f"intact: {v.entries} entries recomputed" if v.ok else f"BROKEN at entry {v.first_broken_seq}: {v.reason}"
    rows = [[para(f"<b>{h}</b>", s["small"]) for h in ("#", "Time (UTC)", "Actor", "Action", "Details", "Hash / previous")]]
    for e in c.entries:
        rows.append([
            para(str(e.seq), s["small"]), para(e.timestamp.replace("T", " ")[:19], s["small"]), para(markup(e.actor, max_chars=60), s["small"]),
            para(markup(e.action.replace("_", " ")), s["small"]), para(markup(entry_details(e), max_chars=400), s["small"]),
            para(f"{short_hash(e.hash)}<br/>{short_hash(e.prev_hash)}", s["small"]),
        ])
    return [
        para("8. Audit trail", s["h2"]),
        para(f"Every change to the case and every result is logged; each entry holds the SHA-256 of its content and of the entry before it, "
           f"and seals every stored field of the rows it wrote (the case, its searches, its marks), so everything this report prints was checked against the chain. "
           f"Chain check: {markup(status)}. Head hash (keep a copy to check this case later): {v.head_hash}"
           + (f" {markup(v.caveat)}" if v.caveat else ""), s["intro"]),
        data_table(rows, [18, 62, 62, 66, c.width - 270, 62], header=True, zebra=True),
    ]


def entry_details(entry: AuditEntry) -> str:
    """One audit entry's details in words, for the audit trail table."""
    d = entry.details_dict()
    if entry.action == "search_recorded":
        queries = ", ".join(q.get("sha256", "")[:12] for q in d.get("queries", []))
        return (f"search {d.get('search_id')}: query {queries}; matcher {d.get('matcher', {}).get('name')}; "
                f"{len(d.get('candidates', []))} candidates; result SHA-256 {str(d.get('result_sha256', ''))[:16]}")
    if entry.action == "report_exported":
        shown = "; patient identifiers printed" if d.get("patient_identifiers") else ""
        return f"{d.get('path')} ({d.get('pages')} pages), SHA-256 {d.get('sha256')}{shown}"
    if entry.action == "pixel_spacing_calibrated":
        return (f"query {str(d.get('query_sha256', ''))[:12]}: {d.get('known_mm')} mm between {d.get('points')} "
                f"-> {d.get('mm_per_pixel')} mm per pixel")
    if entry.action == "chain_upgraded":
        replaced = "; ".join(f"{r.get('field')} of {r.get('row') or 'the case'}: {r.get('stored')} replaced by {r.get('chain')}" for r in d.get("replaced", []))
        return f"every stored field sealed (chain version {d.get('to_version')}); {replaced or 'no stored value differed from the chain'}"
    return ", ".join(f"{k}: {v}" for k, v in d.items() if k != "rows")  # the sealed rows are checked, not printed


def signature_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import KeepTogether, Spacer  # reportlab loads only when a PDF is written

    line = "_" * 34
    rows = [[para(f"<b>{role}</b>", s["cell"]), para(f"Name: {markup(name) if name else '_' * 20}", s["cell"]), para(f"Signature: {line}", s["cell"]), para("Date: ____________", s["cell"])]
            for role, name in (("Examiner", c.case.examiner), ("Reviewer", ""))]
    table = data_table(rows, [55, 150, c.width - 305, 100], grid=False)
    table.setStyle([("TOPPADDING", (0, 0), (-1, -1), 14)])
    return [KeepTogether([para("9. Sign-off", s["h2"]), para("I have compared the candidates above and reviewed this report.", s["body"]), Spacer(1, 6), table])]
