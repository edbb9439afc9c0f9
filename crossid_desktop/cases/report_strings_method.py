"""The case report's wording of the method page (what the matcher does, what it learned from,
how it was tested, its likelihood ratios and what the figures do not cover): the part of
:mod:`~crossid_desktop.cases.report_strings` that :mod:`~crossid_desktop.cases.report_method`
lays out, kept apart so that neither module passes 400 lines. The same rules hold: named
``str.format`` fields, no user text in a template's markup.
"""

from __future__ import annotations

from types import MappingProxyType

MATCHER_DOES = MappingProxyType({
    "skull2face": (
        "The X-ray is first processed to fade the soft tissue (skin and muscle) so that the shape of the skull stands out. "
        "A neural network trained on pairs of skull X-rays and face photographs turns the X-ray and every photograph in the "
        "gallery into a list of {dim} numbers, placed so that an X-ray lies close to photographs of the same person. "
        "The people in the gallery are then put in order of how close their closest photograph lies to the X-ray."
    ),
    "injured": (
        "The face in the photograph is found, turned upright and cut out in a standard frame, as is every face in the gallery. "
        "A neural network trained to recognise faces turns each face into a list of {dim} numbers, placed so that photographs "
        "of the same person lie close together, even when one of the faces is injured. "
        "The people in the gallery are then put in order of how close their closest photograph lies to the query."
    ),
    "craniofacial": (
        "The landmarks of the skull are found on the X-ray (and checked or corrected by the examiner). From them, published tables of the thickness of the soft "
        "tissue over the skull and a model fitted on paired skulls and faces predict where the landmarks of the face lie, each with its expected spread. Every "
        "photograph's face landmarks, measured when it entered the gallery, are laid onto that prediction by the best shift, turn and scaling, and how far they "
        "lie from it is weighed against the spread as a likelihood ratio. The people in the gallery are put in order of that ratio."
    ),
    "craniofacial-fused": (
        "The landmarks of the skull are found on the X-ray (and checked or corrected by the examiner). From them, published tables of the thickness of the soft "
        "tissue over the skull and a model fitted on paired skulls and faces predict where the landmarks of the face lie, each with its expected spread. Every "
        "photograph's face landmarks, measured when it entered the gallery, are laid onto that prediction by the best shift, turn and scaling, and how far they "
        "lie from it is weighed against the spread. This evidence and a neural network's comparison of the X-ray with the photographs (the network turns each "
        "into a list of {dim} numbers) are combined into one likelihood ratio, by rules fitted on people kept apart for the purpose. The people in the gallery "
        "are put in order of that ratio."
    ),
})
MATCHER_DOES_UNKNOWN = "The model card of the matcher {name} does not say what kind of comparison it makes."
SCORES_SHOWN = (
    "How close they lie is shown as a similarity score between 0 and 100 %. A similarity score orders the candidates; it is not the probability that a candidate is "
    "the person sought."
)
SCORES_SHOWN_RATIO = (
    "The score shown beside each candidate is that likelihood ratio put on a scale from 0 to 100 % (LR / (1 + LR)): it orders the candidates as the ratio does; "
    "it is not the probability that a candidate is the person sought."
)
SCORES_SHOWN_BY = MappingProxyType({"craniofacial": SCORES_SHOWN_RATIO, "craniofacial-fused": SCORES_SHOWN_RATIO})

TRAINED_COUNTED = "It learned from {people} people ({kind}): {training_people} to learn from and the others to check the learning."
TRAINED_COUNTED_ONLY = "It learned from {people} people ({kind})."
TRAINED_TEXT = "What it learned from, in its model card's words: {text}."
TRAINED_UNKNOWN = "Its model card does not record what it learned from."
KIND_SYNTHETIC = "computer-generated people, made by the program's own generator, version {generator}"
KIND_SYNTHETIC_PLAIN = "computer-generated people"
KIND_REAL = "real people"
KIND_UNKNOWN = "the card does not say whether they were real or computer-generated"

TESTED = "It was tested in {searches} searches of {people} people it never saw in training ({kind})."
TESTED_PEOPLE_ONLY = "It was tested on {people} people it never saw in training ({kind})."
TESTED_FOUND = " The right person was put first in {first} of these searches and among the first {k} in {top}."
TESTED_VALIDATION_CAVEAT = (
    " These people were kept out of the training itself but were used to decide when to stop training, which makes the figures somewhat optimistic."
)
TESTED_REPEATED = " The figures are averages over several random divisions of the test people."
CHANCE = "Putting the same gallery in a random order would put the right person first in {first} and among the first {k} in {top}."
CONFIGURATION = MappingProxyType({
    "fused": "The figures are those of a frontal and a lateral X-ray searched together, as in this case.",
    "front": "The figures are those of a frontal X-ray searched alone, as in this case.",
    "side": "The figures are those of a lateral X-ray searched alone, as in this case.",
})
NOT_TESTED = "The model card of this matcher records no test on people it never saw in training, so how often it finds the right person is not known."
CHART_TITLE = "The right person among the first k candidates, people never seen in training (%)"
CHART_MATCHER = "this matcher"
CHART_CHANCE = "random order"
CHART_AXIS = "k (number of candidates looked at)"

CALIBRATED = (
    "Likelihood ratios: each candidate's score is turned into a likelihood ratio, which says how many times more probable the score is if the query and the candidate "
    "show the same person than if they show different people. The conversion was fitted on {genuine} same-person and {impostor} different-person comparisons."
)
CLLR = "Its quality is measured by Cllr, which is 0 for perfect ratios and 1 for ratios that carry no information: here {cllr}{where}, so {words}."
CLLR_WHERE_TEST = " on the test people"
CLLR_WHERE_FIT = " on the comparisons it was fitted on"
CLLR_WORDS = (  # (upper bound, words), the first band the value falls below
    (0.2, "the ratios are informative and well calibrated"),
    (0.5, "the ratios are informative"),
    (0.8, "the ratios carry limited information"),
    (1.0, "the ratios carry little information and must be read with great caution"),
    (float("inf"), "the ratios are misleading on average and must not be relied on"),
)
NOT_CALIBRATED = "Likelihood ratios: none are given. The matcher has not been calibrated, so its score orders the candidates but does not say how strong the evidence is."
NO_RATIO_FOR_SEVERAL_QUERIES = (
    "Likelihood ratios: none are given for this search, because it combined several images and the calibration was fitted on one image at a time."
)

NOT_COVERED_HEADING = "What these figures do not cover"
NOT_COVERED_SYNTHETIC = (
    "The test people were generated by the program, not real people. Real images vary in ways the generated ones may not, so the figures may be better than what this "
    "matcher achieves in real casework."
)
NOT_COVERED_UNKNOWN_KIND = "The model card does not say whether the test people were real or computer-generated."
NOT_COVERED_GALLERY = (
    "This search compared the query with {searched} people; the test galleries held {tested}. The more people a gallery holds, the less often the right person comes "
    "first."
)
NOT_COVERED_ALWAYS = ("Whether the person sought is in the gallery at all: the list always has a first candidate.",)
NOT_COVERED_CONDITIONS = MappingProxyType({
    "xray": "The conditions of this case: image quality, the years between the X-ray and the photographs, pose, the view and "
            "the soft-tissue processing of the X-ray.",
    "face": "The conditions of this case: image quality, the years between the photographs, pose, lighting, and the kind "
            "and extent of the injuries.",
})
PERCENT = "{value:.0f} %"
PERCENT_SMALL = "{value:.1f} %"
