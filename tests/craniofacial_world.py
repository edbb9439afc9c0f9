"""A small simulated world with a known skull-to-face relation, for the craniofacial tests.

Skulls vary by five shape factors; each skin point with a skull counterpart lies at a fixed
depth along its direction (the :mod:`~crossid_desktop.matching.craniofacial.views` table; the
published mean depth where there is one, :data:`DEPTH_MM` elsewhere) plus
Gaussian tissue variation ``tissue_sd``; the other face points follow the skull's shape factors
linearly plus the same variation. X-rays and photos are random similarity views of the head
(the X-rays with a known pixel spacing). Everything the model should find is known here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.gallery.enrol import encode_png, sync_embeddings
from crossid_desktop.gallery.face_landmarks import put_face_landmarks
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.craniofacial.consistency import Tolerance
from crossid_desktop.matching.craniofacial.fit import FitSettings, PairedPerson, fit_view_model
from crossid_desktop.matching.craniofacial.geometry import Similarity
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel, save_model
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.craniofacial.views import FRONT, ViewPair
from crossid_desktop.matching.selection import MatcherCache, write_config
from crossid_desktop.workspace import Workspace

#: the depth of the correspondences without a published one (mm); the others have the published mean
DEPTH_MM = 4.0
XRAY_MM_PER_PX = 0.5


@dataclass(frozen=True)
class World:
    pair: ViewPair
    skull_mean: NDArray[np.float64]  # (k, 2) mm
    skull_modes: NDArray[np.float64]  # (5, k, 2)
    face_base: NDArray[np.float64]  # (m, 2) mm, for points without counterpart
    face_modes: NDArray[np.float64]  # (5, m, 2)
    tissue_sd: float

    def person(self, rng: np.random.Generator, subject_id: str, photos: int = 1) -> PairedPerson:
        factors = rng.normal(size=5)
        skull = self.skull_mean + np.tensordot(factors, self.skull_modes, axes=1)
        return self.person_with(rng, subject_id, skull, factors, photos)

    def face_of(self, rng: np.random.Generator, skull: NDArray[np.float64], factors: NDArray[np.float64]) -> NDArray[np.float64]:
        face = self.face_base + np.tensordot(factors, self.face_modes, axes=1)
        for c in self.pair.correspondences:
            face[self.pair.face_names.index(c.face)] = skull[self.pair.skull_names.index(c.skull)] + depth_of(c) * np.asarray(c.direction)
        return face + rng.normal(0.0, self.tissue_sd, face.shape)

    def person_with(self, rng: np.random.Generator, subject_id: str, skull: NDArray[np.float64], factors: NDArray[np.float64],
                    photos: int) -> PairedPerson:
        face = self.face_of(rng, skull, factors)
        xray = _view(rng, 1.0 / XRAY_MM_PER_PX).apply(skull)
        skull_marks = Landmarks(self.pair.skull_view, self.pair.skull_names, xray, np.full(len(xray), 0.01), "test world", spacing_mm=XRAY_MM_PER_PX)
        shots = tuple(Landmarks(self.pair.face_view, self.pair.face_names, _view(rng, rng.uniform(1.0, 3.0)).apply(face),
                                np.full(len(face), 0.01), "test world") for _ in range(photos))
        return PairedPerson(subject_id, "F" if rng.random() < 0.5 else "M", float(rng.integers(20, 70)), {self.pair.skull_view: skull_marks},
                            {self.pair.face_view: shots}, {self.pair.face_view: tuple(f"photo{i}" for i in range(photos))})


def depth_of(correspondence) -> float:
    """The world's depth of a correspondence: the published mean where there is one."""
    published = correspondence.depth()
    return published.mean_mm if published else DEPTH_MM


def _view(rng: np.random.Generator, scale: float) -> Similarity:
    angle = rng.uniform(-0.2, 0.2)
    return Similarity(scale * np.cos(angle), scale * np.sin(angle), *rng.uniform(100, 300, 2))


def make_world(seed: int = 0, tissue_sd: float = 1.0) -> World:
    rng = np.random.default_rng(seed)
    pair = FRONT
    k, m = len(pair.skull_names), len(pair.face_names)
    skull_mean = rng.uniform(-60, 60, (k, 2))
    # the anatomical frame of the canonical frame: nasion at the origin, the orbitale line along +x
    for name, point in (("nasion", (0.0, 0.0)), ("orbitale_right", (-30.0, 25.0)), ("orbitale_left", (30.0, 25.0))):
        skull_mean[pair.skull_names.index(name)] = point
    skull_modes = rng.normal(0.0, 2.0, (5, k, 2))
    face_base = rng.uniform(-60, 60, (m, 2))
    face_modes = rng.normal(0.0, 2.0, (5, m, 2))
    return World(pair, skull_mean, skull_modes, face_base, face_modes, tissue_sd)


def craniofacial_workspace(tmp: Path) -> tuple[World, Any, Any, list[PairedPerson]]:
    """A workspace whose X-ray matcher is a craniofacial model of a world, and a gallery of 30
    people (two photos each; the landmarks of P03's photos could not be measured):
    ``(world, workspace, matcher cache, people)``."""
    world = make_world(seed=2)
    rng = np.random.default_rng(1)
    fitted = fit_view_model(world.pair, [world.person(rng, f"T{i}", photos=2) for i in range(120)], FitSettings(ridge=0.01))
    model_path = tmp / "cf.npz"
    save_model(model_path, CraniofacialModel({"front": fitted.model}, Tolerance(), {"name": "world-craniofacial"}))
    workspace = Workspace.open(tmp / "ws")
    write_config(workspace.root, "xray", str(model_path))
    cache = MatcherCache()
    matcher = cache.for_role(workspace.root, "xray")
    people = [world.person(rng, f"P{i:02d}", photos=2) for i in range(30)]
    with GalleryStore(workspace.db_path) as store:
        thumb = encode_png(np.full((8, 8, 3), 128, np.uint8))
        for n, person in enumerate(people):
            store.ensure_subject(person.subject_id, name=f"Person {n}")
            for k, photo in enumerate(person.photos[world.pair.face_view]):
                sha = hashlib.sha256(f"{person.subject_id}/{k}".encode()).hexdigest()
                record = store.add_image(person.subject_id, path=Path(f"/photos/{person.subject_id}_{k}.png"), sha256=sha, view="front",
                                         width=256, height=256, thumbnail_png=thumb, alignment="test")
                if person.subject_id == "P03":
                    photo = Landmarks.failed("face-front", "No frontal face was found in the photo.", source="test")
                put_face_landmarks(store, matcher.fingerprint, [(record.image_id, photo)])
        sync_embeddings(workspace, store, matcher)
    return world, workspace, cache, people
