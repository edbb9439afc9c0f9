"""The workspace the hostile corpus runs against (built once per module): see hostile_workspace."""

from __future__ import annotations

import pytest
from builders import save_untrained_matcher, write_photo
from hostile_workspace import HostileWorkspace

from crossid_desktop.workspace import Workspace


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileWorkspace:
    from crossid_desktop.gallery.enrol import enrol
    from crossid_desktop.matching.selection import MatcherCache, write_config
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    root = tmp_path_factory.mktemp("hostile")
    cohort = generate_cohort(root / "cohort", CohortConfig(n_subjects=3, seed=7, image_size=128, extra_gallery_photos=0, injured_per_subject=0))
    workspace = Workspace.open(root / "ws")
    write_config(workspace.root, "injured", str(save_untrained_matcher(root / "injured.pt", "injured")))
    write_config(workspace.root, "xray", str(save_untrained_matcher(root / "skull.pt", "skull2face")))
    gallery = root / "gallery"
    for subject in cohort.subject_ids:
        (gallery / subject).mkdir(parents=True)
        (gallery / subject / "face_front.png").write_bytes((cohort.s2f_root / subject / "face_front.png").read_bytes())
    for n in range(4):
        write_photo(gallery / f"P{n:03d}" / "photo.png", seed=n)
    report = enrol(workspace, gallery, matchers=MatcherCache().configured(workspace.root), allow_centre_crop=True)
    assert report.added == 7 and not report.failures
    return HostileWorkspace(workspace, cohort.s2f_root, cohort.subject_ids, gallery / "P001" / "photo.png", 7)
