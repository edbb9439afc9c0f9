"""Every fixed piece of wording in the case report, in one place so that it can be translated
(the method page's in :mod:`~crossid_desktop.cases.report_strings_method`).

Templates use ``str.format`` fields with names (``{people}``); the modules that lay out the
report fill them and never write report wording of their own. User text (names, notes) is
never part of a template's markup: the layout escapes it and puts it in a field.
"""

from __future__ import annotations

from types import MappingProxyType

# ---------------------------------------------------------------- the document

DOCUMENT_TITLE = "CrossID case report {case}"
HEADER_LEFT = "CrossID Desktop case report"
FOOTER = "Investigative lead, not an identification. Generated {generated} UTC"
METADATA_SUBJECT = "Candidate list (investigative lead, not an identification) for case {case}"
METADATA_KEYWORDS = "CrossID; case report; investigative lead"
PAGE_OF = "Page {page} of {pages}"

#: the report's numbered sections, in order (key -> heading); :func:`heading` numbers them
SECTIONS = MappingProxyType({
    "summary": "Summary",
    "query": "Query",
    "method": "How the search works and how far it can be trusted",
    "candidates": "Candidates",
    "comparisons": "Candidate comparisons",
    "notes": "Examiner's notes",
    "limitations": "Limitations",
    "audit": "Audit trail",
    "signoff": "Sign-off",
    "technical": "Technical appendix",
})


def heading(key: str) -> str:
    """The numbered heading of a section ("3. How the search works ...")."""
    return f"{list(SECTIONS).index(key) + 1}. {SECTIONS[key]}"


# ---------------------------------------------------------------- title, summary, query, candidates, notes

TITLE = "Case report {case}"
TITLE_FIELDS = MappingProxyType({
    "case_number": "Case number", "title": "Title", "examiner": "Examiner", "agency": "Agency", "created": "Case opened",
    "updated": "Last change", "generated": "Report generated", "known_identity": "Known identity",
})
DATE = "{date} UTC"
NONE = "-"
NO_SEARCH = "No search has been recorded in this case."
SUMMARY = (
    "On {date}, {actor} searched {queries} against a gallery of {subjects} people ({images} photos) with the matcher {matcher}. {candidates} candidates were returned; "
    "the first three are {top}."
)
SUMMARY_QUERY = "{path} (SHA-256 {sha256}…, {modality})"
SUMMARY_QUERY_IN_MEMORY = "an image in memory"
SUMMARY_TOP = "{subject} ({score})"
SUMMARY_TOP_NONE = "none"
SUMMARY_MARKED = " The examiner marked {count} candidate(s) as of interest{which}."
SUMMARY_AUDIT = " The case's audit log has {entries} entries and verifies as {status}."
SUMMARY_AUDIT_INTACT = "intact"
SUMMARY_AUDIT_BROKEN = "BROKEN at entry {seq}"
SUMMARY_WARNINGS = "Warnings about this search:"

QUERY_NUMBER = "Query {n}"
QUERY_FIELDS = MappingProxyType({"file": "File", "sha256": "SHA-256", "modality": "Modality", "frame": "Frame", "pixel_spacing": "Pixel spacing",
                                 "patient": "Patient (DICOM)", "dicom": "DICOM {key}", "landmarks": "Landmarks corrected"})
QUERY_LANDMARKS = "{names} (placed by the examiner; audit entries {entries})"
#: the labels of a query image's properties (a property without one is shown by its name)
QUERY_IMAGE_FIELDS = MappingProxyType({"format": "File format", "width": "Width", "height": "Height", "bit_depth": "Bits per sample"})
#: the image properties counted in pixels
QUERY_PIXELS = "{value} pixels"
QUERY_FRAME = "{frame} of {frames}"
QUERY_NO_SPACING = "not known: distances on this image are in pixels"
QUERY_PATIENT_WITHHELD = "withheld from this report (recorded with the case)"
QUERY_CAPTION_ORIGINAL = "original (as searched)"
QUERY_CAPTION_PREPROCESSED = "as the matcher saw it: {caption}"
QUERY_CAPTION_PARAMETERS = " (parameters in the technical appendix)"

CANDIDATES_HEAD = ("Face", "Rank", "Subject", "Name", "Score", "LR", "Verbal scale", "Distance", "Skull", "Mark")
CANDIDATES_INTRO = (
    "{count} candidates, most similar first. Score: the similarity exp(-d²) of the distance d between the query and the candidate's closest photo, as a percentage; "
    "LR: the likelihood ratio where the matcher is calibrated (section {method})."
)
CANDIDATES_INTRO_RATIO = (
    "{count} candidates, strongest support first. LR: the likelihood ratio that orders the list, from the comparison of the skull's landmarks with each "
    "candidate's face (combined with the neural network's comparison where the matcher fuses the two; section {method}); Score: that ratio on a 0-100 % scale, "
    "LR / (1 + LR); Distance: the neural network's distance between the X-ray and the candidate's closest photo (without the network, the square root of the "
    "best photo's landmark misfit per degree of freedom); Skull: whether the candidate's face is consistent with the skull's landmarks, inconsistent "
    "(the comparison supports excluding them, if the landmarks were placed correctly) or could not be compared."
)
CANDIDATES_NOT_IN_GALLERY = "not in gallery"
SCORES_HEADING = "Scores"
SCORE_AXIS = "similarity score exp(-d²), %"
SCORE_AXIS_RATIO = "score LR / (1 + LR), %"

NOTES_NONE = "No general notes."
NOTES_HEAD = ("Subject", "Mark", "Note", "By, when")
NOTES_BY = "{actor}, {date}"

LIMITATIONS = (
    ("The matcher ranks every enrolled person, so a list is produced even when the person is not in the gallery; the first "
     "rank is not necessarily the person sought."),
    ("Scores depend on image quality, pose, age difference, injuries and, for skull X-rays, on the soft-tissue suppression and "
     "the view. The reliability measured on test people (section {method}) may not hold for this case."),
    ("The similarity score is not a probability of identity. A likelihood ratio is given only when the matcher carries a "
     "calibration measured on people kept out of its training; it expresses how much more probable the score is if the query "
     "and the candidate are the same person than if they are different persons."),
    ("Gallery photos are shown as the aligned crops the matcher used; originals are identified by their SHA-256 in the "
     "gallery database."),
)
#: added to the limitations when the report holds text in such a script
LIMITATION_UNSHAPED = ("Text in scripts that need shaping or run right to left (e.g. Devanagari, Arabic, Hebrew) is drawn letter by letter "
                       "from left to right in the order typed, without conjuncts or joined letters; the characters are embedded unchanged, "
                       "so text copied from the PDF is what was typed.")

AUDIT_HEAD = ("#", "Time (UTC)", "Actor", "Action", "Details", "Hash / previous")
AUDIT_INTRO = (
    "Every change to the case and every result is logged; each entry holds the SHA-256 of its content and of the entry before it, and seals every stored field of the "
    "rows it wrote (the case, its searches, its marks), so everything this report prints was checked against the chain. Chain check: {status}. Head hash (keep a copy "
    "to check this case later): {head}"
)
AUDIT_INTACT = "intact: {entries} entries recomputed"
AUDIT_BROKEN = "BROKEN at entry {seq}: {reason}"
AUDIT_SEARCH = "search {search_id}: query {queries}; matcher {matcher}; {candidates} candidates; result SHA-256 {sha256}"
AUDIT_REPORT = "{path} ({pages} pages), SHA-256 {sha256}{patient}{signed}"
AUDIT_REPORT_PATIENT = "; patient identifiers printed"
AUDIT_REPORT_SIGNED = "; signed by {who}"
AUDIT_SPACING = "query {sha256}: {known_mm} mm between {points} -> {mm_per_pixel} mm per pixel"
AUDIT_UPGRADE = "every stored field sealed (chain version {version}); {replaced}"
AUDIT_UPGRADE_REPLACED = "{field} of {row}: {stored} replaced by {chain}"
AUDIT_UPGRADE_NONE = "no stored value differed from the chain"
AUDIT_UPGRADE_CASE = "the case"

LEAD_STATEMENT = (
    "The ranked list in this report is an investigative lead produced by automated search. It is not an identification. Any candidate must be compared by a qualified "
    "examiner and the identity established by other evidence (DNA, dental records, fingerprints, documents)."
)

# ---------------------------------------------------------------- the method page

# in report_strings_method.py (this module would pass 400 lines)

# ---------------------------------------------------------------- the comparison pages

COMPARISONS_INTRO = (
    "One page for each of the first {top} candidates and for every candidate the examiner marked or wrote a note on, with the query and the candidate's photograph "
    "side by side."
)
COMPARISON_TITLE = "Rank {rank}: {who}"
COMPARISON_MARKED_ELSEWHERE = "Marked in an earlier search of this case but not among this search's candidates, so not compared here: {subjects}."
CAPTION_QUERY = MappingProxyType({
    "xray_front": "query: frontal skull X-ray, as searched",
    "xray_side": "query: lateral skull X-ray, as searched",
    "injured_face": "query: the face as the matcher compared it",
})
CAPTION_QUERY_ORIGINAL = "query, as searched"
CAPTION_CANDIDATE = "candidate rank {rank}: the photo that matched best, as the matcher compared it"
QUERY_NOT_SHOWN = "The query picture cannot be shown: {why}"
QUERY_PICTURE_MISSING = "not available"
CANDIDATE_NOT_SHOWN = "This photograph is no longer in the gallery, so it cannot be shown."

ROW_RANK = "Rank"
ROW_SCORE = "Similarity score"
ROW_RATIO = "Likelihood ratio"
ROW_MARK = "Examiner's mark"
ROW_NOTE = "Examiner's note"
RANK_OF = "{rank} of {candidates} candidates listed, from a gallery of {people} people"
SCORE_VALUE = "{score} (distance {distance:.4f}; a higher score means more alike)"
ROW_SCORE_RATIO = "Score"
SCORE_VALUE_RATIO = "{score} (the likelihood ratio on a 0-100 % scale, LR / (1 + LR); a higher score means stronger support)"
RATIO_VALUE = "{lr}: {verbal}"
RATIO_SAME = "The score is {times} times more probable if the query and this candidate show the same person than if they show different people."
RATIO_DIFFERENT = "The score is {times} times more probable if the query and this candidate show different people than if they show the same person."
RATIO_EVEN = "The score is as probable whether or not the query and this candidate show the same person."
RATIO_NONE_UNCALIBRATED = "not given: the matcher has not been calibrated"
RATIO_NONE_SEVERAL = "not given: several images were searched together"
MARK_VALUE = "{mark}, by {actor} on {date}"
MARK_NONE = "not marked"
NOTE_NONE = "no note"

# ---------------------------------------------------------------- evidence on the comparison pages

CRANIOFACIAL_HEADING = "Skull and face compared"
CRANIOFACIAL_NOT_RECORDED = (
    "No skull-face overlay or landmark comparison was recorded with this search: the matcher {matcher} compares the images as wholes and does not locate landmarks. "
    "This comparison rests on the similarity score alone."
)
CRANIOFACIAL_EXPLAINED = (
    "Where the search recorded a skull-face comparison, the page also shows it: from the skull and the usual thickness of the soft tissue, the matcher predicts where "
    "landmarks of the face should lie; for each landmark a table gives how far the candidate's photo puts it from there (off by) and the largest distance the skull "
    "allows for that landmark alone (allowed). The decision weighs the landmarks together: a candidate is marked inconsistent when, taken together, they lie "
    "too far, so that one misplaced landmark cannot exclude a person on its own, and it allows freely for the ways in which faces over one skull differ most "
    "and which a skull cannot tell (with the bundled model: the brows' raise on a frontal photo, the lower lip and the chin's soft tissue on a profile, each where "
    "the photo shows it); a landmark beyond its own allowance is a reason to check where it was placed."
)
CRANIOFACIAL_BOUND_EXPLAINED = (
    "This search also marked a candidate inconsistent when every X-ray compared lay within what the skull allows but the landmarks, taken together, were more "
    "than {times} times as probable if the face is someone else's as if it belongs to the skull (a likelihood ratio from the landmarks alone, not the ratio that "
    "orders the list); the page then says so under the views."
)
CRANIOFACIAL_TOGETHER = "Overall decision for this candidate: {statement}"
CRANIOFACIAL_SEE_OVERALL = " (This view alone is within what the skull allows: see the overall decision below.)"
INJURY_EXPLAINED = (
    "Each page also says which parts of the injured face, if any, the search left out as unreliable (injuries, dressings, swelling), so that the score can be read as "
    "resting on the rest of the face."
)
CRANIOFACIAL_VIEW = MappingProxyType({"front": "Frontal X-ray", "side": "Lateral X-ray", "overall": "The X-rays together"})
CRANIOFACIAL_OVERLAY_CAPTION = "{view}: the X-ray laid over the candidate's photo by the fitted registration"
CRANIOFACIAL_NO_OVERLAY = "{view}: no overlay picture was recorded."
CRANIOFACIAL_TABLE_HEAD = ("Landmark on the face", "Off by ({unit})", "Allowed ({unit})", "Within?")
CRANIOFACIAL_NO_LANDMARKS = "No landmark table was recorded with this search."
CRANIOFACIAL_STATEMENT = MappingProxyType({
    "consistent": (
        "{view}: the face in this photograph is consistent with the skull: taken together, the landmarks that could be measured lie "
        "within what the skull allows. Consistency does not identify a person; many faces are consistent with one skull."
    ),
    "inconsistent": (
        "{view}: the face in this photograph is not consistent with the skull: taken together, its landmarks lie further from "
        "where the skull puts them than the skull allows (the farthest: {landmarks}). On this comparison the candidate can be excluded, "
        "unless the photograph or the landmarks placed on it are at fault."
    ),
    "not assessable": "{view}: this photograph could not be compared with the skull: {reasons}.",
})
CRANIOFACIAL_NO_REASON = "the comparison gave no reason"
CRANIOFACIAL_SOME_LANDMARKS = "not recorded"
CRANIOFACIAL_WITHIN = MappingProxyType({True: "yes", False: "<b>NO</b>", None: "not measured"})
AND = " and "

INJURY_HEADING = "Parts of the face left out"
INJURY_NOT_RECORDED = "No map of unreliable regions was recorded with this search: the whole face was compared, injured or covered parts included."
INJURY_RECORDED = (
    "The tinted parts of the query face ({share} of the face) were judged unreliable ({source}) and left out of the comparison; the score rests on the rest of the "
    "face."
)
INJURY_RECORDED_TRANSPLANT = (
    "The tinted parts of the query face ({share} of the face) were judged unreliable ({source}). Before the query was compared with {targets}"
)
TRANSPLANT_PHOTOS = (
    "its {k} nearest gallery photographs, these parts of the query were pasted into each of them, so that both pictures carry the same injury or dressing and "
    "the score of those photographs rests on the rest of the face."
)
TRANSPLANT_SUBJECTS = (
    "every gallery photograph of its {k} nearest people, these parts of the query were pasted into each of them, so that both pictures carry the same injury "
    "or dressing and the score of those photographs rests on the rest of the face."
)
TRANSPLANT_FUSION = MappingProxyType({
    "min": "",
    "centroid": " A person's score is then the distance to the average of their photographs so compared.",
    "min+centroid": " A person's score is then the mean of their best such photograph's score and the distance to the average of their photographs so compared.",
})
INJURY_SOURCE = MappingProxyType({"detected": "found by the injury detector", "examiner": "marked by the examiner"})
INJURY_CAPTION = "query face, unreliable parts tinted"

# ---------------------------------------------------------------- sign-off and signatures

SIGNOFF_DECLARATION = "I have compared the candidates above and reviewed this report."
SIGNED_AT_EXPORT = (
    "This report is digitally signed by {name} as {role}, with the certificate \"{subject}\" issued by \"{issuer}\"{stamp}. The signature covers the whole report as "
    "exported, including the case record attached to it; any later change to the file breaks it. A PDF reader shows the signature in its signature panel."
)
SIGNED_STAMP = ", with a time stamp from the time-stamping authority {tsa}"
SIGNED_NO_STAMP = " (no time-stamping authority was configured, so the signing time is that of the signer's computer)"
UNSIGNED = (
    "This report was not digitally signed when it was exported. A signature added later appears in the signature panel of a PDF reader; without one, only the case's "
    "audit log (section {audit}) shows that the file is the one the case exported."
)
VERIFY_HINT = (
    "To check the signatures, the attached case record and its agreement with the case's audit log: crossid report verify \"{file}\" (with the workspace that holds the "
    "case)."
)
SIGNATURE_BOX = MappingProxyType({"examiner": "Examiner", "reviewer": "Reviewer"})
SIGNATURE_BOX_HINT = "digital signature, or sign here on paper"
SIGNATURE_NAME = "Name: {name}"
SIGNATURE_REASON = MappingProxyType({"examiner": "Examiner's report on case {case}", "reviewer": "Reviewed: case {case}"})
#: the visible signature in a box: {signer} the certificate's name, {role} the role in lower
#: case, {time} the signing time (the signer's clock); drawn in a PDF standard font, so
#: characters beyond Latin-1 are spelled by name
SIGNATURE_STAMP = "Signed digitally by {signer}\nas {role}, {time}"

# ---------------------------------------------------------------- the technical appendix

TECHNICAL_INTRO = (
    "For a reviewing expert: what the search ran with. The complete model card and the complete case record (every stored row of the case, its audit log and each "
    "search as returned) are attached to this PDF as the file {name} and written beside it; most PDF readers list it under attachments."
)
TECHNICAL_ROWS = MappingProxyType({
    "matcher": "Matcher",
    "version": "Version",
    "fingerprint": "Fingerprint",
    "weights": "Weights SHA-256",
    "training": "Training data",
    "training_command": "Training command",
    "test": "Test",
    "calibration": "Calibration",
    "query_preprocessing": "Query preprocessing",
    "gallery_preprocessing": "Gallery preprocessing",
    "index": "Gallery and index",
    "software": "Software",
    "platform": "Platform",
    "record": "Attached case record",
})
TECHNICAL_NOT_RECORDED = "not recorded"
TECHNICAL_MATCHER = "{name}: task {task}, backbone {backbone}, {dim}-number embedding"
TECHNICAL_VERSION = "model card format {format}, model created {created}, trained with CrossID Desktop {software}"
TECHNICAL_VERSION_UNDATED = "model card format {format}, creation time not recorded, fitted with CrossID Desktop {software}"
TECHNICAL_TRAINING = "{people} people ({kind}); {train} for training, {val} for validation; split by {split}"
TECHNICAL_CALIBRATION = "{method} on {genuine} same-person / {impostor} different-person pairs; score {score}"
TECHNICAL_CALIBRATION_CLLR = "; Cllr {cllr} (minimum {cllr_min})"
TECHNICAL_INDEX = "{subjects} people, {images} photos; gallery digest {digest}; ranked by each {rank_by}'s best photo; search {ms} ms"
TECHNICAL_RECORD = "{name}, {size} bytes, SHA-256 {sha256}; written beside the report as {beside}"
TECHNICAL_MODEL_CARD_MISSING = "The gallery no longer holds the model card of this matcher; the attached record holds the summary the case stored."

# ---------------------------------------------------------------- pictures, recorded evidence, long texts

APPLICATION = "CrossID Desktop"
PICTURE_IN_MEMORY = "The query was searched from memory; no file path was recorded."
PICTURE_UNREADABLE = "The query file cannot be shown: {error}"
PICTURE_CHANGED = "The file now at {path} is not the one searched (its SHA-256 is {sha256}); it is not shown."
PICTURE_NO_SOFT_TISSUE = "The matcher recorded no soft-tissue parameters; no preprocessed image is shown."
PICTURE_NOT_REPEATED = "The preprocessing could not be repeated: {error}"
EVIDENCE_UNREADABLE = "The recorded skull-face comparison cannot be read (it has no list of views)."
EVIDENCE_OVERLAY_UNDECODABLE = "The recorded overlay picture cannot be decoded; it is not shown."
EVIDENCE_OVERLAY_CHANGED = "The recorded overlay picture does not match its SHA-256; it is not shown."
EVIDENCE_MASK_UNREADABLE = "The recorded map of unreliable regions cannot be read."
EVIDENCE_MASK_UNDECODABLE = "The recorded map of unreliable regions cannot be decoded; it is not shown."
EVIDENCE_MASK_CHANGED = "The recorded map of unreliable regions does not match its SHA-256; it is not shown."

APPENDIX_HEADING = "Appendix: texts shortened above"
APPENDIX_INTRO = "Texts too long for the tables above, each in full as recorded in the case."
APPENDIX_ITEM = "A{number}. {what} ({chars:,} characters)"
APPENDIX_POINTER = "(shortened; {chars:,} characters in all: appendix item A{number})"
#: what a shortened text is, as its appendix item names it
SHORTENED = MappingProxyType({
    "field_name": "a field name", "warning": "a warning", "subject_id": "subject id of rank {rank}", "name": "name of rank {rank} ({subject})",
    "verbal_scale": "verbal scale", "any_subject_id": "a subject id", "note": "note on {subject}", "marked_by": "who marked {subject}",
    "candidate": "rank {rank}", "landmark": "a landmark name", "technical": "technical appendix: {label}",
})

TECHNICAL_TEST_BLOCK = "metrics block '{block}'"
TECHNICAL_TEST_CONFIGURATION = " ({configuration} queries)"
TECHNICAL_TEST_FIGURE = "top-{k} {found:.3f}"
TECHNICAL_TEST_PEOPLE = "{people} people"
TECHNICAL_TEST_SEARCHES = "{searches} searches"
TECHNICAL_TEST_GALLERY = "gallery {photos} photos"
TECHNICAL_TEST_CLLR = "Cllr {cllr:.3f}"
TECHNICAL_KIND_SYNTHETIC = "synthetic"
TECHNICAL_KIND_GENERATOR = "synthetic, generator {generator}"
TECHNICAL_KIND_UNSTATED = "not stated"
TECHNICAL_SEED = ", seed {seed}"
TECHNICAL_DEVICE = "{platform}; compute device {device}"
