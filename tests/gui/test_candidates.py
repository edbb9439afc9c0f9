"""Search from the window: cards in rank order, the green frame on the known identity, the
rank of a known identity beyond the top-k, and the examiner's marks."""

from __future__ import annotations

import pytest

from crossid_desktop.cases.marks import Mark
from crossid_desktop.gui.widgets.candidate_card import CandidateCard
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.preprocess import CENTRE_CROP_WARNING, FaceChoice

TIMEOUT = 60_000


def search(qtbot, window, paths, *, modalities=None, true_subject_id=None):
    faces = modalities and QueryModality.INJURED_FACE in modalities  # the tiny gallery's random pictures hold no face
    choices = [FaceChoice(allow_centre_crop=True)] * len(paths) if faces else None
    with qtbot.waitSignal(window.searchFinished, timeout=TIMEOUT) as blocker:
        window.load_query([str(p) for p in paths], modalities=modalities, true_subject_id=true_subject_id, search=True, choices=choices)
    return blocker.args[0]


def cards(window) -> list[CandidateCard]:
    found = [window.findChild(CandidateCard, f"candidateCard_{rank}") for rank in range(1, 101)]
    return [card for card in found if card is not None and not card.isHidden()]


def test_an_enrolled_photo_ranks_its_subject_first_with_a_green_frame(qtbot, window, tiny) -> None:
    subject = tiny.photo_subjects[4]
    search(qtbot, window, [tiny.photo(subject)], modalities=[QueryModality.INJURED_FACE], true_subject_id=subject)
    shown = cards(window)
    assert [card.objectName() for card in shown] == [f"candidateCard_{rank}" for rank in range(1, 11)]
    assert shown[0].candidate.subject_id == subject and shown[0].property("isTrueIdentity") is True
    assert shown[0].candidate.confidence == pytest.approx(1.0, abs=1e-3)  # the identical photo: distance 0
    assert [card.property("isTrueIdentity") for card in shown[1:]] == [False] * 9
    assert len({card.candidate.subject_id for card in shown}) == 10  # people, not photos
    confidences = [card.candidate.confidence for card in shown]
    assert confidences == sorted(confidences, reverse=True)
    label = window.findChild(type(window.candidates.rank_label), "trueRankLabel")
    assert label.isVisibleTo(window) and "rank 1" in label.text()
    assert "24 people" in window.status.gallery_label.text() and "untrained-injured" in window.status.matcher_label.text()


def test_an_xray_pair_lists_the_chosen_number_of_cards_in_rank_order(qtbot, window, tiny) -> None:
    window.candidates.top_k_spin.setValue(5)
    outcome = search(qtbot, window, tiny.xrays(tiny.cohort.subject_ids[0]))
    assert [q.modality for q in outcome.result.queries] == ["xray_front", "xray_side"]
    shown = cards(window)
    assert [card.candidate.rank for card in shown] == [1, 2, 3, 4, 5]
    assert [card.candidate.subject_id for card in shown] == [c.subject_id for c in outcome.result.candidates]
    assert window.settings.top_k == 5  # remembered


def test_a_known_identity_beyond_the_top_k_or_absent_is_said_so(qtbot, window, tiny) -> None:
    from crossid_desktop.search.service import SearchService

    window.candidates.top_k_spin.setValue(3)
    query = tiny.xrays(tiny.cohort.subject_ids[1])
    reference = SearchService(tiny.workspace).search([str(p) for p in query], top_k=24)  # the whole ranking
    beyond = reference.candidates[7]
    search(qtbot, window, query, true_subject_id=beyond.subject_id)
    assert not any(card.property("isTrueIdentity") for card in cards(window))
    assert f"rank {beyond.rank} of 24" in window.candidates.rank_label.text()
    # typed by the examiner after the search: someone who is not in the gallery
    with qtbot.waitSignal(window.candidates.identityShown, timeout=TIMEOUT):
        window.candidates.identity_edit.setText("NOBODY")
        window.candidates.identity_edit.editingFinished.emit()
    assert "not in the gallery" in window.candidates.rank_label.text()
    # and one of the top three: its card turns green
    top = reference.candidates[0].subject_id
    window.candidates.identity_edit.setText(top)
    window.candidates.identity_edit.editingFinished.emit()
    assert cards(window)[0].property("isTrueIdentity") is True


def test_marks_and_notes_reach_the_case_marks(qtbot, window, tiny) -> None:
    search(qtbot, window, [tiny.photo(tiny.photo_subjects[2])], modalities=[QueryModality.INJURED_FACE])
    second = cards(window)[1]
    with qtbot.waitSignal(window.marksChanged, timeout=TIMEOUT):
        second.note_edit.setText("same ear shape")
        qtbot.mouseClick(second.interest_button, qtbot_button())
    mark = window.marks.get(second.candidate.subject_id)
    assert mark.mark is Mark.OF_INTEREST and mark.note == "same ear shape"
    with qtbot.waitSignal(window.marksChanged, timeout=TIMEOUT):
        qtbot.mouseClick(second.exclude_button, qtbot_button())
    assert window.marks.get(second.candidate.subject_id).mark is Mark.EXCLUDED
    assert not second.interest_button.isChecked()
    # the mark survives a new search that lists the same person
    search(qtbot, window, [tiny.photo(tiny.photo_subjects[2])], modalities=[QueryModality.INJURED_FACE])
    again = next(card for card in cards(window) if card.candidate.subject_id == second.candidate.subject_id)
    assert again.exclude_button.isChecked() and again.note_edit.text() == "same ear shape"


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_warnings_show_above_the_cards_on_each_card_and_in_the_status_bar(qtbot, window, tiny) -> None:
    from PySide6.QtWidgets import QLabel

    outcome = search(qtbot, window, tiny.xrays(tiny.cohort.subject_ids[2]))  # views left at the guess; 96-pixel X-rays
    warnings = outcome.result.warnings
    assert any("was guessed" in w for w in warnings) and any("96x96 pixels" in w for w in warnings)
    label = window.candidates.warnings_label
    assert label.isVisibleTo(window) and all(w in label.text() for w in warnings)
    assert all(card.findChild(QLabel, "cardWarningLabel").isVisibleTo(card) for card in cards(window))
    assert f"{len(warnings)} warning(s)" in window.status.search_label.text()
    photo = search(qtbot, window, [tiny.photo(tiny.photo_subjects[0])], modalities=[QueryModality.INJURED_FACE])
    # the tiny workspace's rendered face is not found by the detector: its central square is
    # searched, which is the only warning now; the X-ray's warnings are gone
    assert photo.result.warnings == (CENTRE_CROP_WARNING,)
    assert label.isVisibleTo(window) and label.text() == f"⚠ {CENTRE_CROP_WARNING}"


def test_the_cards_never_run_off_the_panel(qtbot, window, tiny) -> None:
    """Two cards side by side when the panel is wide enough, one under the other when it is not:
    every card lies whole inside the panel, with no horizontal scrolling."""
    from crossid_desktop.gui.widgets.candidates_panel import COLUMNS

    window.resize(1500, 920)
    window.show()
    search(qtbot, window, tiny.xrays(tiny.cohort.subject_ids[0]))
    scroll = window.candidates.findChild(type(window.candidates._scroll), "cardsScroll")
    for width in (300, 1400):  # the candidates panel itself: narrow, then wide
        window.candidates.setFixedWidth(width)
        qtbot.waitUntil(lambda: all(card.isVisible() for card in cards(window)), timeout=5_000)
        qtbot.wait(50)
        shown = cards(window)
        viewport = scroll.viewport()
        card_width = max(card.minimumSizeHint().width() for card in shown)
        expected = max(1, min(COLUMNS, (viewport.width() + 8) // (card_width + 8)))
        assert window.candidates.columns() == expected
        for card in shown:
            right = card.mapTo(viewport, card.rect().topRight()).x()
            assert right <= viewport.width(), f"card {card.objectName()} runs off the panel at width {width}"
        assert not scroll.horizontalScrollBar().isVisible()
    assert window.candidates.columns() == COLUMNS  # wide: side by side
