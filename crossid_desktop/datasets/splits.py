"""Subject-disjoint splits: people, never images, go to one side or the other."""

from __future__ import annotations

import random
from collections.abc import Sequence


def subject_split(subject_ids: Sequence[str], *, test_fraction: float = 0.3, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split subjects (not images) into ``(train, test)``, each sorted.

    The result depends only on the set of ids, ``test_fraction`` and ``seed``, never on their
    order; duplicates are merged. With two or more subjects both sides are non-empty.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    ids = sorted(set(subject_ids))
    if len(ids) < 2:
        return ids, []
    n_test = min(max(round(len(ids) * test_fraction), 1), len(ids) - 1)
    test = set(random.Random(seed).sample(ids, n_test))
    return [s for s in ids if s not in test], [s for s in ids if s in test]
