"""The sections of the case report, each a list of reportlab flowables: title, summary,
query, candidate list, notes, limitations and audit trail (the method page, the comparison
pages, the sign-off and the technical appendix have modules of their own), and the styles and
table helpers all sections share.

All user text (names, notes, titles, file paths, metadata) goes through
:func:`crossid_desktop.cases.fonts.markup`, so it is shown literally and in a font that covers
its script; in tables through :meth:`~crossid_desktop.cases.report_appendix.Appendix.cell`, so
that text too long for a cell is shortened there and printed whole in the appendix. The fixed
wording is in :mod:`~crossid_desktop.cases.report_strings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crossid_desktop.cases import landmark_log
from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.audit import AuditEntry, VerifyResult, short_hash
from crossid_desktop.cases.fonts import SANS, SANS_BOLD, markup, register_fonts
from crossid_desktop.cases.marks import Mark
from crossid_desktop.cases.records import Case, RecordedSearch
from crossid_desktop.cases.report_appendix import Appendix, chunks
from crossid_desktop.cases.report_figures import QueryPictures, display_bytes, face_pairs, flowable, score_chart
from crossid_desktop.cases.signing import SignaturePlan
from crossid_desktop.imaging.dicom import PatientIdentity
from crossid_desktop.imaging.spacing import PixelSpacing
from crossid_desktop.search.service import Candidate


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
    file_name: str = "report.pdf"  # the report's file name, as the sign-off names it
    signature: SignaturePlan | None = None  # the signature made at export, or None (unsigned)
    record_file: Mapping[str, Any] = field(default_factory=dict)  # the attached record: name, size, sha256, beside
    model_card: Mapping[str, Any] | None = field(default=None, compare=False)  # the matcher's complete card, from the gallery
    signature_boxes: dict[str, Any] = field(default_factory=dict, compare=False)  # role -> (page, rectangle), filled while laying out
    #: skull-face figures a matcher made again for this report (see report_evidence.with_figures), and why none could be made
    craniofacial: tuple[Any, ...] = ()
    craniofacial_note: str | None = None  # also: where each X-ray's skull landmarks came from, and an X-ray that failed
    appendix: Appendix = field(default_factory=Appendix, compare=False)  # texts shortened in tables, filled while laying out
    unshaped_text: bool = True  # the report holds text in a script drawn without shaping (the limitations say so)


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
        "statement": ParagraphStyle("statement", parent=base, spaceBefore=4, spaceAfter=8),
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

    rows = [[Paragraph(f"<b>{appendix.cell(k, text.SHORTENED['field_name'], 120)}</b>", s["cell"]), Paragraph(appendix.cell(v, str(k)[:80]), s["cell"])] for k, v in pairs]
    return data_table(rows, [key_width, width - key_width])


def para(ready: str, style: Any):
    """A paragraph of ready markup (pass user text through :func:`markup` first)."""
    from reportlab.platypus import Paragraph  # reportlab loads only when a PDF is written

    return Paragraph(ready, style)


def date_utc(iso: str) -> str:
    """An ISO 8601 UTC time as "YYYY-MM-DD HH:MM:SS UTC" ("" for none)."""
    return text.DATE.format(date=iso.replace("T", " ")[:19]) if iso else ""


def title_block(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    case, label = c.case, text.TITLE_FIELDS
    pairs = [
        (label["case_number"], case.case_number), (label["title"], case.title or text.NONE), (label["examiner"], case.examiner or text.NONE),
        (label["agency"], case.agency or text.NONE), (label["created"], date_utc(case.created)), (label["updated"], date_utc(case.updated)),
        (label["generated"], date_utc(c.generated)),
    ]
    known = case.known_identity
    if known is not None:
        pairs.append((label["known_identity"], " ".join(x for x in (known.subject_id or "", known.name, f"({known.note})" if known.note else "") if x)))
    return [para(markup(text.TITLE.format(case=case.case_number)), s["title"]), _pairs(pairs, s, c.width, c.appendix), para(markup(text.LEAD_STATEMENT), s["lead"])]


def summary(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    out: list[Any] = [para(text.heading("summary"), s["h2"])]
    if c.search is None:
        return out + [para(text.NO_SEARCH, s["body"])]
    r = c.search.result
    queries = "; ".join(text.SUMMARY_QUERY.format(path=markup(q.path or text.SUMMARY_QUERY_IN_MEMORY, max_chars=300), sha256=q.sha256[:16],
                                                  modality=q.modality.replace("_", " ")) for q in r.queries)
    top = ", ".join(text.SUMMARY_TOP.format(subject=markup(x.subject_id, max_chars=80), score=f"{x.confidence * 100:.1f}%") for x in r.candidates[:3])
    words = text.SUMMARY.format(date=date_utc(c.search.performed), actor=markup(c.search.actor, max_chars=200), queries=queries,
                                subjects=f"{r.gallery_subjects:,}", images=f"{r.gallery_images:,}", matcher=markup(r.matcher_name),
                                candidates=len(r.candidates), top=top or text.SUMMARY_TOP_NONE)
    marked = c.case.of_interest()
    words += text.SUMMARY_MARKED.format(count=len(marked), which=(": " + ", ".join(markup(m, max_chars=80) for m in marked)) if marked else "")
    status = text.SUMMARY_AUDIT_INTACT if c.verification.ok else text.SUMMARY_AUDIT_BROKEN.format(seq=c.verification.first_broken_seq)
    words += text.SUMMARY_AUDIT.format(entries=c.verification.entries, status=status)
    warned = [para(f"<b>{text.SUMMARY_WARNINGS}</b> " + " ".join(c.appendix.cell(w, text.SHORTENED["warning"], 1000) for w in r.warnings), s["lead"])] if r.warnings else []
    return out + warned + [para(words, s["body"])]


#: the side (points) of a candidate's face in the candidate list (the comparison pages show it large)
THUMBNAIL = 30.0

#: query metadata that :func:`query_dicom_pairs` words itself (the rest is printed as it is)
QUERY_META_SHOWN_APART = frozenset({"dicom", "patient", "pixel_spacing", "frame", "frames"})


def query_dicom_pairs(meta: Mapping[str, Any], *, xray: bool, patient_identifiers: bool) -> list[tuple[str, str]]:
    """The frame searched, the pixel spacing of an X-ray and, only when the examiner chose to
    print them, the patient's identifiers named by the DICOM file."""
    label = text.QUERY_FIELDS
    pairs = []
    frames = int(meta.get("frames", 1) or 1)
    if frames > 1:
        pairs.append((label["frame"], text.QUERY_FRAME.format(frame=int(meta.get("frame", 0) or 0) + 1, frames=frames)))
    spacing = meta.get("pixel_spacing")
    if xray:
        pairs.append((label["pixel_spacing"], PixelSpacing.from_dict(spacing).describe() if spacing else text.QUERY_NO_SPACING))
    if meta.get("patient"):
        shown = PatientIdentity.from_dict(meta["patient"]).describe() if patient_identifiers else text.QUERY_PATIENT_WITHHELD
        pairs.append((label["patient"], shown))
    return pairs


def query_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import Table  # reportlab loads only when a PDF is written

    if c.search is None:
        return []
    out: list[Any] = [para(text.heading("query"), s["h2"])]
    label = text.QUERY_FIELDS
    for n, (q, pictures) in enumerate(zip(c.search.result.queries, c.queries), start=1):
        if len(c.search.result.queries) > 1:
            out.append(para(text.QUERY_NUMBER.format(n=n), s["h3"]))
        meta = {k: v for k, v in q.meta.items() if k not in QUERY_META_SHOWN_APART}
        pairs = [(label["file"], q.path or text.NONE), (label["sha256"], q.sha256), (label["modality"], q.modality.replace("_", " "))]
        pairs += [image_property(k, v) for k, v in meta.items()]
        pairs += query_dicom_pairs(q.meta, xray=q.modality.startswith("xray"), patient_identifiers=c.patient_identifiers)
        pairs += [(label["dicom"].format(key=k), str(v)) for k, v in sorted((q.meta.get("dicom") or {}).items())]
        pairs += corrected_landmarks(c.entries, q.sha256)
        pairs += face_pairs(q)
        out.append(_pairs(pairs, s, c.width, c.appendix))
        if pictures.problem:
            out.append(para(markup(pictures.problem), s["body"]))
        cells, captions = [], []
        half = (c.width - 20) / 2
        if pictures.original is not None:
            cells.append(flowable(display_bytes(pictures.original), half, 210))
            captions.append(para(text.QUERY_CAPTION_ORIGINAL, s["caption"]))
        if pictures.preprocessed is not None:
            cells.append(flowable(display_bytes(pictures.preprocessed), half, 210))
            captions.append(para(markup(preprocessed_caption(pictures.preprocessed_caption)), s["caption"]))
        if cells:
            table = Table([cells, captions], colWidths=[half + 10] * len(cells))
            table.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])
            out.append(table)
    return out


def corrected_landmarks(entries: Sequence[AuditEntry], sha256: str) -> list[tuple[str, str]]:
    """The landmarks of one query image the examiner placed by hand (as the audit log leaves
    them), as one labelled row; none when there are none."""
    placed = sorted((key[2].replace("_", " "), seq) for key, (position, seq) in landmark_log.logged_corrections(list(entries)).items()
                    if key[0] == sha256 and position is not None)
    if not placed:
        return []
    words = text.QUERY_LANDMARKS.format(names=", ".join(n for n, _ in placed), entries=", ".join(str(s) for s in sorted({s for _, s in placed})))
    return [(text.QUERY_FIELDS["landmarks"], words)]


def image_property(key: str, value: Any) -> tuple[str, str]:
    """A query image's property as the report labels it: ``("width", 256)`` -> ``("Width", "256 pixels")``."""
    label = text.QUERY_IMAGE_FIELDS.get(key) or key.replace("_", " ").capitalize()
    shown = text.QUERY_PIXELS.format(value=f"{value:,}") if key in ("width", "height") and isinstance(value, int) else str(value)
    return label, shown


def preprocessed_caption(caption: str) -> str:
    """The preprocessing's caption for a reader: what was done, the parameters left to the
    technical appendix ("soft tissue suppressed: algorithm sts-1, ..." -> "soft tissue suppressed")."""
    what, _, parameters = caption.partition(":")
    return text.QUERY_CAPTION_PREPROCESSED.format(caption=what.strip()) + (text.QUERY_CAPTION_PARAMETERS if parameters.strip() else "")


def results_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    if c.search is None:
        return []
    candidates = c.search.result.candidates
    calibrated = any(x.likelihood_ratio is not None for x in candidates)
    skull = any(x.craniofacial for x in candidates)
    head = [h for h in text.CANDIDATES_HEAD if (calibrated or h not in ("LR", "Verbal scale")) and (skull or h != "Skull")]
    widths = [36, 28, 62, 100, 52, *([42, 80] if calibrated else []), 46, 45] if not skull else [34, 26, 44, 100, 40, *([40, 72] if calibrated else []), 44, 62, 36]
    widths[3] += c.width - sum(widths)
    rows: list[list[Any]] = [[para(f"<b>{h}</b>", s["small"]) for h in head]]
    for x in candidates:
        png = c.thumbnails.get(x.image_id)
        face = flowable(png, THUMBNAIL, THUMBNAIL) if png else para(text.CANDIDATES_NOT_IN_GALLERY, s["small"])
        mark = c.case.mark_of(x.subject_id)
        cells = [face, para(str(x.rank), s["cell"]), para(c.appendix.cell(x.subject_id, text.SHORTENED["subject_id"].format(rank=x.rank), 80), s["cell"]),
                 para(c.appendix.cell(x.name or text.NONE, text.SHORTENED["name"].format(rank=x.rank, subject=x.subject_id[:40]), 200), s["cell"]), para(f"{x.confidence * 100:.1f}%", s["cell"])]
        if calibrated:
            cells += [para(_lr(x), s["cell"]), para(c.appendix.cell(x.verbal_scale or text.NONE, text.SHORTENED["verbal_scale"], 120), s["small"])]
        cells += [para(f"{x.distance:.4f}", s["cell"])]
        if skull:
            status = str((x.craniofacial or {}).get("status") or text.NONE)
            cells.append(para(f"<b>{status}</b>" if status == "inconsistent" else status, s["small"]))
        cells.append(para(markup(mark.mark.label if mark else ""), s["small"]))
        rows.append(cells)
    method = list(text.SECTIONS).index("method") + 1
    return [
        para(text.heading("candidates"), s["h2"]),
        para((text.CANDIDATES_INTRO_RATIO if any(x.craniofacial for x in candidates) else text.CANDIDATES_INTRO).format(count=len(candidates), method=method), s["intro"]),
        data_table(rows, widths, header=True, zebra=True),
        para(text.SCORES_HEADING, s["h3"]),
        score_chart(candidates, width=c.width),
    ]


def _lr(candidate: Candidate) -> str:
    return f"{candidate.likelihood_ratio:.3g}" if candidate.likelihood_ratio is not None else text.NONE


def notes_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    out: list[Any] = [para(text.heading("notes"), s["h2"])]
    out += [para(markup(piece), s["body"]) for piece in chunks(c.case.notes)] or [para(text.NOTES_NONE, s["body"])]
    noted = [m for m in c.case.marks.values() if m.mark is not Mark.NONE or m.note]
    if noted:
        rows = [[para(f"<b>{h}</b>", s["small"]) for h in text.NOTES_HEAD]]
        rows += [[para(c.appendix.cell(m.subject_id, text.SHORTENED["any_subject_id"], 80), s["cell"]), para(markup(m.mark.label), s["cell"]),
                  para(c.appendix.cell(m.note or text.NONE, text.SHORTENED["note"].format(subject=m.subject_id[:40]), 1000), s["cell"]),
                  para(c.appendix.cell(text.NOTES_BY.format(actor=m.actor, date=date_utc(m.updated)), text.SHORTENED["marked_by"].format(subject=m.subject_id[:40]), 200), s["small"])]
                 for m in noted]
        out.append(data_table(rows, [70, 60, c.width - 220, 90], header=True))
    return out


def limitations_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import ListFlowable, ListItem  # reportlab loads only when a PDF is written

    method = list(text.SECTIONS).index("method") + 1
    limitations = text.LIMITATIONS + ((text.LIMITATION_UNSHAPED,) if c.unshaped_text else ())
    items = [ListItem(para(markup(t.format(method=method)), s["body"]), leftIndent=10) for t in limitations]
    return [para(text.heading("limitations"), s["h2"]), ListFlowable(items, bulletType="bullet", start="•", leftIndent=10), para(markup(text.LEAD_STATEMENT), s["lead"])]


def audit_section(c: ReportContent, s: dict[str, Any]) -> list[Any]:
    v = c.verification
    status = text.AUDIT_INTACT.format(entries=v.entries) if v.ok else text.AUDIT_BROKEN.format(seq=v.first_broken_seq, reason=v.reason)
    rows = [[para(f"<b>{h}</b>", s["small"]) for h in text.AUDIT_HEAD]]
    for e in c.entries:
        rows.append([
            para(str(e.seq), s["small"]), para(e.timestamp.replace("T", " ")[:19], s["small"]), para(markup(e.actor, max_chars=60), s["small"]),
            para(markup(e.action.replace("_", " ")), s["small"]), para(markup(entry_details(e), max_chars=400), s["small"]),
            para(f"{short_hash(e.hash)}<br/>{short_hash(e.prev_hash)}", s["small"]),
        ])
    intro = markup(text.AUDIT_INTRO.format(status=status, head=v.head_hash) + (f" {v.caveat}" if v.caveat else ""))
    return [para(text.heading("audit"), s["h2"]), para(intro, s["intro"]), data_table(rows, [18, 62, 62, 66, c.width - 270, 62], header=True, zebra=True)]


def entry_details(entry: AuditEntry) -> str:
    """One audit entry's details in words, for the audit trail table."""
    d = entry.details_dict()
    if entry.action == "search_recorded":
        queries = ", ".join(q.get("sha256", "")[:12] for q in d.get("queries", []))
        return text.AUDIT_SEARCH.format(search_id=d.get("search_id"), queries=queries, matcher=(d.get("matcher") or {}).get("name"),
                                        candidates=len(d.get("candidates", [])), sha256=str(d.get("result_sha256", ""))[:16])
    if entry.action in ("report_exported", "report_signed"):
        signed = text.AUDIT_REPORT_SIGNED.format(who="; ".join(d["signatures"])) if d.get("signatures") else ""
        return text.AUDIT_REPORT.format(path=d.get("path"), pages=d.get("pages"), sha256=d.get("sha256"),
                                        patient=text.AUDIT_REPORT_PATIENT if d.get("patient_identifiers") else "", signed=signed)
    if entry.action == "pixel_spacing_calibrated":
        return text.AUDIT_SPACING.format(sha256=str(d.get("query_sha256", ""))[:12], known_mm=d.get("known_mm"), points=d.get("points"), mm_per_pixel=d.get("mm_per_pixel"))
    if entry.action == "chain_upgraded":
        replaced = "; ".join(text.AUDIT_UPGRADE_REPLACED.format(field=r.get("field"), row=r.get("row") or text.AUDIT_UPGRADE_CASE, stored=r.get("stored"), chain=r.get("chain"))
                             for r in d.get("replaced", []))
        return text.AUDIT_UPGRADE.format(version=d.get("to_version"), replaced=replaced or text.AUDIT_UPGRADE_NONE)
    return ", ".join(f"{k}: {v}" for k, v in d.items() if k != "rows")  # the sealed rows are checked, not printed
