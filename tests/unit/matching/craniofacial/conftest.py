"""Fixtures of the craniofacial tests: the simulated world of ``tests/craniofacial_world.py`` and a model fitted on it."""

from __future__ import annotations

import numpy as np
import pytest
from craniofacial_world import World, make_world

from crossid_desktop.matching.craniofacial.fit import FitSettings, ViewFit, fit_view_model


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def fitted(world: World) -> ViewFit:
    """The model fitted on 150 people of the world, three photos each."""
    rng = np.random.default_rng(1)
    people = [world.person(rng, f"T{i:03d}", photos=3) for i in range(150)]
    return fit_view_model(world.pair, people, FitSettings(ridge=0.01, shrinkage=0.1, iterations=4))
