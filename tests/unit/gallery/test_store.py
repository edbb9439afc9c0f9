from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.store import MIGRATIONS, GalleryStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GalleryStore]:
    with GalleryStore(tmp_path / "gallery.db") as s:
        yield s


def enrol(store: GalleryStore, subject_id: str, key: str, *, png: bytes = PNG) -> int:
    record = store.add_image(
        subject_id, path=Path(f"/photos/{key}.jpg"), sha256=sha(key), view="front", width=640, height=480,
        thumbnail_png=png, alignment="dlib-5pt",
    )
    assert record is not None
    return record.image_id


def table_rows(store: GalleryStore, table: str) -> list[tuple]:
    return [tuple(r) for r in store.connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]


def test_subjects_and_images_round_trip(store: GalleryStore) -> None:
    store.upsert_subject("P-002", name="Bea", metadata={"sex": "F", "age": 31})
    store.upsert_subject("P-001", name="Al")
    store.upsert_subject("P-001", name="Alan", metadata={"note": "renamed"})
    png_b = PNG + b"b"
    a = enrol(store, "P-002", "a")
    b = enrol(store, "P-002", "b", png=png_b)
    c = enrol(store, "P-001", "c")
    assert a < b < c
    subjects = store.subjects()
    assert [(s.subject_id, s.name, s.metadata, s.n_images) for s in subjects] == [
        ("P-001", "Alan", {"note": "renamed"}, 1),
        ("P-002", "Bea", {"age": 31, "sex": "F"}, 2),
    ]
    assert store.subject("P-002").n_images == 2
    image = store.image(b)
    assert (image.subject_id, image.path, image.sha256, image.view, image.width, image.height, image.alignment) == (
        "P-002", Path("/photos/b.jpg"), sha("b"), "front", 640, 480, "dlib-5pt",
    )
    assert [i.image_id for i in store.images("P-002")] == [a, b]
    assert [i.image_id for i in store.images()] == [a, b, c]
    assert store.thumbnail(b) == png_b
    assert store.image_by_sha256(sha("c")).image_id == c
    assert store.image_by_sha256(sha("zzz")) is None


def test_unknown_things_raise_gallery_error(store: GalleryStore) -> None:
    with pytest.raises(GalleryError, match="no subject 'nobody'"):
        store.subject("nobody")
    with pytest.raises(GalleryError, match="no subject"):
        store.remove_subject("nobody")
    with pytest.raises(GalleryError, match="no subject"):
        enrol(store, "nobody", "x")
    with pytest.raises(GalleryError, match="no image number 99"):
        store.image(99)
    with pytest.raises(GalleryError, match="no image number 99"):
        store.thumbnail(99)
    with pytest.raises(GalleryError):
        store.upsert_subject(" padded ")


def test_duplicate_import_is_a_no_op(store: GalleryStore) -> None:
    store.upsert_subject("s1")
    store.upsert_subject("s2")
    first = enrol(store, "s1", "same")
    before = (table_rows(store, "images"), table_rows(store, "thumbnails"), store.gallery_digest())
    again = store.add_image(
        "s2", path=Path("/elsewhere/copy.png"), sha256=sha("same").upper(), view="side", width=1, height=1,
        thumbnail_png=PNG + b"other", alignment="none",
    )
    assert again is None
    assert (table_rows(store, "images"), table_rows(store, "thumbnails"), store.gallery_digest()) == before
    assert store.image_by_sha256(sha("same")).image_id == first


def test_remove_subject_cascades(store: GalleryStore) -> None:
    store.register_matcher("fp", name="m", card={"dim": 3})
    store.upsert_subject("s1")
    store.upsert_subject("s2")
    ids = [enrol(store, "s1", "a"), enrol(store, "s1", "b"), enrol(store, "s2", "c")]
    store.put_embeddings("fp", ids, np.eye(3, dtype=np.float32))
    assert store.remove_subject("s1") == 2
    assert [s.subject_id for s in store.subjects()] == ["s2"]
    assert [i.image_id for i in store.images()] == [ids[2]]
    got_ids, vectors = store.embeddings("fp")
    assert got_ids.tolist() == [ids[2]] and vectors.tolist() == [[0, 0, 1]]
    assert store.connection.execute("SELECT COUNT(*) FROM thumbnails").fetchone()[0] == 1
    # image ids are never reused
    store.upsert_subject("s3")
    assert enrol(store, "s3", "d") > max(ids)


def test_embeddings_sorted_and_shaped(store: GalleryStore) -> None:
    store.register_matcher("fp", name="m", card={})
    store.upsert_subject("s")
    ids = [enrol(store, "s", str(i)) for i in range(5)]
    ids_empty, vectors_empty = store.embeddings("fp")
    assert ids_empty.shape == (0,) and vectors_empty.shape == (0, 0)
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((5, 4)).astype(np.float32)
    order = [3, 0, 4, 1]
    store.put_embeddings("fp", [ids[i] for i in order], vectors[order])
    got_ids, got = store.embeddings("fp")
    assert got_ids.dtype == np.int64 and got.dtype == np.float32
    assert got_ids.tolist() == sorted(ids[i] for i in order)
    for image_id, vector in zip(got_ids, got):
        assert np.array_equal(vector, vectors[ids.index(image_id)])
    assert [i.image_id for i in store.images_without_embeddings("fp")] == [ids[2]]
    some_ids, some = store.embeddings("fp", [ids[4], ids[2], ids[0]])
    assert some_ids.tolist() == [ids[0], ids[4]] and np.array_equal(some[1], vectors[4])
    assert store.embedding_ids("fp").tolist() == got_ids.tolist()
    counts = store.counts()
    assert (counts.subjects, counts.images, counts.embeddings) == (1, 5, {"fp": 4})
    with pytest.raises(GalleryError, match="4-d"):
        store.put_embeddings("fp", [ids[2]], np.zeros((1, 5), np.float32))
    with pytest.raises(GalleryError, match="not registered"):
        store.put_embeddings("other", [ids[2]], np.zeros((1, 4), np.float32))


def test_failed_put_embeddings_keeps_what_was_stored(store: GalleryStore) -> None:
    store.register_matcher("fp", name="m", card={})
    store.upsert_subject("s")
    ids = [enrol(store, "s", str(i)) for i in range(3)]
    store.put_embeddings("fp", ids[:2], np.ones((2, 2), np.float32))
    before = table_rows(store, "embeddings")
    with pytest.raises(ValueError):  # wrong shape: rejected before anything is written
        store.put_embeddings("fp", ids, np.zeros((2, 2), np.float32))
    # fails half-way: the first rows are written, then an unknown image id stops it
    with pytest.raises(GalleryError, match="no image number 12345"):
        store.put_embeddings("fp", [ids[0], ids[2], 12345], np.full((3, 2), 7, np.float32))
    assert table_rows(store, "embeddings") == before


def test_transaction_rolls_back_everything_inside(store: GalleryStore) -> None:
    store.upsert_subject("kept")
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction() as conn:
            store.upsert_subject("lost")
            enrol(store, "kept", "lost-image")
            conn.execute("UPDATE subjects SET name = 'changed' WHERE subject_id = 'kept'")
            raise RuntimeError("boom")
    assert [(s.subject_id, s.name, s.n_images) for s in store.subjects()] == [("kept", "", 0)]
    with store.transaction():  # a nested failure rolls back only its own part
        store.upsert_subject("outer")
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.upsert_subject("inner")
                raise RuntimeError
    assert [s.subject_id for s in store.subjects()] == ["kept", "outer"]


def test_gallery_digest(tmp_path: Path) -> None:
    def build(path: Path, order: list[tuple[str, str]]) -> GalleryStore:
        s = GalleryStore(path)
        for subject_id, key in order:
            s.upsert_subject(subject_id, name=f"name of {subject_id} in {path.name}")
            enrol(s, subject_id, key)
        return s

    pairs = [("s1", "a"), ("s2", "b"), ("s1", "c")]
    one = build(tmp_path / "one.db", pairs)
    two = build(tmp_path / "two.db", pairs[::-1])
    expected = hashlib.sha256(
        "".join(f"{s}\t{h}\n" for s, h in sorted((s, sha(k)) for s, k in pairs)).encode()
    ).hexdigest()
    assert one.gallery_digest() == two.gallery_digest() == expected
    enrol(one, "s2", "d")
    assert one.gallery_digest() != expected
    empty = GalleryStore(tmp_path / "empty.db")
    assert empty.gallery_digest() == hashlib.sha256(b"").hexdigest()
    for s in (one, two, empty):
        s.close()


def test_matchers(store: GalleryStore) -> None:
    store.register_matcher("fp1", name="skull2face", card={"embedding_dim": 128})
    store.register_matcher("fp1", name="skull2face v2", card={"embedding_dim": 128, "note": "x"})
    assert [(m.fingerprint, m.name, m.card) for m in store.matchers()] == [
        ("fp1", "skull2face v2", {"embedding_dim": 128, "note": "x"})
    ]
    assert store.counts().embeddings == {"fp1": 0}


def test_corrupt_database_file(tmp_path: Path) -> None:
    path = tmp_path / "gallery.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GalleryError, match="cannot be read"):
        GalleryStore(path)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.close()
    with pytest.raises(GalleryError, match="not a CrossID gallery"):
        GalleryStore(path)


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gallery.db"
    GalleryStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(GalleryError, match="newer CrossID Desktop"):
        GalleryStore(path)


def test_other_modules_add_their_tables(tmp_path: Path) -> None:
    path = tmp_path / "gallery.db"
    steps = [("CREATE TABLE cases (case_id TEXT PRIMARY KEY)",)]
    with GalleryStore(path) as store:
        store.ensure_schema("cases", steps)
        store.ensure_schema("cases", steps)  # already applied: nothing happens
        with store.transaction() as conn:
            conn.execute("INSERT INTO cases VALUES ('c1')")
    steps.append(("ALTER TABLE cases ADD COLUMN title TEXT NOT NULL DEFAULT ''",))
    with GalleryStore(path) as store:
        store.ensure_schema("cases", steps)
        assert [tuple(r) for r in store.connection.execute("SELECT * FROM cases")] == [("c1", "")]
        with pytest.raises(GalleryError, match="newer CrossID Desktop"):
            store.ensure_schema("cases", steps[:1])


def test_wal_and_foreign_keys_are_on(store: GalleryStore) -> None:
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
