"""The embedded demo: it builds from the synthetic cohort and the bundled models, ``crossid demo``
prints ranked lists with the true identity marked, a second call reuses the built demo, and the
demo X-ray query finds its person in the top 10.

The real demo holds 80 people (``DEMO_SUBJECTS``); enrolling them on a 2-core machine takes
minutes, so these tests build the same demo with fewer people (the X-ray query person,
``XRAY_QUERY_SUBJECT``, stays in; the injured query moves to a person that exists). With
``SMALL_DEMO`` people the chance of a random ranking putting one person in the top 10 is
10 / ``SMALL_DEMO``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import crossid_desktop.demo as demo_module
from crossid_desktop.cli import main
from crossid_desktop.paths import resource_path

SMALL_DEMO = 24

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not resource_path("models", "skull2face.pt").is_file(), reason="the bundled skull-to-face model is missing")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("demo") / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_module, "DEMO_SUBJECTS", SMALL_DEMO)
        patch.setattr(demo_module, "INJURED_QUERY_SUBJECT", 5)
        demo = demo_module.build_demo(root)
        yield root, demo


def test_build_writes_workspace_and_queries(built) -> None:
    root, demo = built
    data = json.loads((root / "demo.json").read_text(encoding="utf-8"))
    assert data["seed"] == demo_module.DEMO_SEED
    assert [q.label for q in demo.queries] == [q["label"] for q in data["queries"]]
    subjects = sorted(p.name for p in (root / "cohort" / "s2f").iterdir() if p.is_dir())
    assert len(subjects) == SMALL_DEMO
    xray = demo.queries[0]
    assert xray.true_subject_id == subjects[demo_module.XRAY_QUERY_SUBJECT]
    assert all(Path(p).is_file() for q in demo.queries for p in q.paths)
    assert (root / "workspace").is_dir()


def test_cli_prints_ranked_lists_and_reuses_the_demo(built, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root, demo = built
    before = (root / "demo.json").stat().st_mtime_ns

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the demo was built again")

    monkeypatch.setattr(demo_module, "_build", no_rebuild)
    assert main(["demo", "--demo-dir", str(root), "--top-k", "10"]) == 0
    out = capsys.readouterr().out
    assert (root / "demo.json").stat().st_mtime_ns == before
    for query in demo.queries:
        assert f"true identity {query.true_subject_id}" in out
    # three ranked lists of 10 candidates: lines "  1. S0001  name  confidence ..."
    ranks = re.findall(r"^\s+(\d+)\. S\d+", out, flags=re.MULTILINE)
    assert ranks == [str(r) for r in range(1, 11)] * 3
    marked = [line for line in out.splitlines() if line.endswith("<== true identity")]
    assert all(demo.queries[0].true_subject_id in line or demo.queries[2].true_subject_id in line for line in marked)
    assert "not identifications" in out


def test_xray_query_finds_its_person_in_the_top_10(built) -> None:
    from crossid_desktop.search.service import SearchService

    root, demo = built
    query = demo.queries[0]
    result = SearchService(demo.workspace()).search(list(query.paths), modality=query.query_modality(), top_k=10)
    assert len(result.candidates) == 10
    rank = result.rank_of(query.true_subject_id)
    assert rank is not None and rank <= 10, f"the true identity {query.true_subject_id} is not in the top 10 (chance {10 / SMALL_DEMO:.2f})"


def test_a_reused_demo_gets_the_vectors_of_a_changed_bundled_model(built, monkeypatch: pytest.MonkeyPatch) -> None:
    """A demo built before a bundled model changed (a refitted matcher is a model of a new
    fingerprint) is brought up to date when opened again: the new model's vectors are embedded,
    the demo is not built again."""
    from crossid_desktop.gallery.store import GalleryStore
    from crossid_desktop.matching.selection import MatcherCache

    root, demo = built
    renewed = "f" * 64
    configured = MatcherCache.configured

    def with_a_new_model(self, workspace_root):
        matchers = configured(self, workspace_root)
        for matcher in matchers:
            if matcher.name.startswith("craniofacial"):
                matcher.fingerprint = renewed
        return matchers

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the demo was built again")

    monkeypatch.setattr(MatcherCache, "configured", with_a_new_model)
    monkeypatch.setattr(demo_module, "_build", no_rebuild)
    with GalleryStore(demo.workspace().db_path) as store:
        assert store.images_without_embeddings(renewed)
    demo_module.build_demo(root)
    with GalleryStore(demo.workspace().db_path) as store:
        assert not store.images_without_embeddings(renewed)
        assert store.counts().images > 0
