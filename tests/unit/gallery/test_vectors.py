"""The memory-mapped vector matrix: rows added and removed between saves, written and loaded
back, exact search over live rows only, against a plain computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_exact import loop_knn

from crossid_desktop.gallery.vectors import VectorMatrix


def test_matrix_add_kill_write_load_and_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((30, 5)).astype(np.float32)
    matrix = VectorMatrix(5)
    matrix.append(np.arange(20), vectors[:20], replacing=False)
    matrix.kill(np.array([3, 4]))
    matrix.append(np.array([5]), vectors[25:26], replacing=True)  # a replaced vector
    files = tmp_path / "m.f32", tmp_path / "m.ids"
    assert matrix.write(*files) == 18
    loaded = VectorMatrix.load(*files, dim=5, rows=18)
    assert loaded is not None and VectorMatrix.load(*files, dim=5, rows=19) is None
    loaded.append(np.arange(20, 25), vectors[20:25], replacing=False)  # in memory after the mapped rows
    loaded.kill(np.array([0, 21]))
    live = {i: vectors[i] for i in range(25) if i not in (0, 3, 4, 21)}
    live[5] = vectors[25]
    ids = np.array(sorted(live))
    table = np.stack([live[i] for i in ids])
    queries = rng.standard_normal((4, 5)).astype(np.float32)
    found, distances = loaded.exact(queries, 6)
    want_pos, want_d = loop_knn(queries, table, 6)
    assert found.tolist() == ids[np.array(want_pos)].tolist()
    np.testing.assert_allclose(distances, want_d, rtol=1e-6)
    np.testing.assert_array_equal(loaded.vectors_of(np.array([5, 22])), np.stack([vectors[25], vectors[22]]))
    assert loaded.vectors_of(np.array([3])) is None
    again = tmp_path / "n.f32", tmp_path / "n.ids"
    assert loaded.write(*again) == len(live)
    assert sorted(np.fromfile(again[1], dtype="<i8").tolist()) == ids.tolist()
