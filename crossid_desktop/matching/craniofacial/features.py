"""Scale-free feature vectors for the fast first stage of a craniofacial search.

Every gallery photo's face landmarks, and every query's predicted face, are registered to the
model's mean face by an ordinary least-squares similarity (so scale, rotation and position are
gone) and whitened by the model's spread: the Euclidean distance between a query's vector and
a photo's then approximates their Mahalanobis misfit, and a nearest-neighbour index over the
whole gallery finds the few hundred photos the exact registration (:mod:`.assess`) re-scores.

One vector serves both views: ``[frontal block | profile block | view coordinate]``. A frontal
photo fills the frontal block and carries ``+VIEW_OFFSET`` in the last coordinate, a profile
photo the profile block and ``-VIEW_OFFSET``; a photo whose landmarks failed is all zeros. So a
frontal X-ray's neighbours are frontal photos first, then the photos that could not be
measured, then profiles, far behind.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.craniofacial.assess import photo_points, photo_problem
from crossid_desktop.matching.craniofacial.geometry import fit_similarity
from crossid_desktop.matching.craniofacial.model import Prediction, ViewModel
from crossid_desktop.matching.craniofacial.points import Landmarks

#: the view coordinate's size: far beyond any distance within a view
VIEW_OFFSET = 1000.0
#: typical landmark error (canonical mm, per axis) added to the model's spread for whitening
TYPICAL_ERROR_MM = 2.0
_ORDER = ("front", "side")


class FeatureSpace:
    """The first-stage vector layout of a set of view models (``{"front": ..., "side": ...}``)."""

    def __init__(self, models: Mapping[str, ViewModel]) -> None:
        self.models = {name: models[name] for name in _ORDER if name in models}
        self._means = {name: m.face_mean for name, m in self.models.items()}
        self._whiten = {}
        for name, m in self.models.items():
            cov = m.residual_cov + TYPICAL_ERROR_MM**2 * np.eye(m.residual_cov.shape[0])
            self._whiten[name] = np.linalg.inv(np.linalg.cholesky(cov))
        self._slices, start = {}, 0
        for name, m in self.models.items():
            self._slices[name] = slice(start, start + 2 * len(m.pair.face_names))
            start += 2 * len(m.pair.face_names)
        self.dim = start + 1

    def _block(self, name: str, shape: NDArray[np.float64]) -> NDArray[np.float64]:
        """A ``(m, 2)`` shape (NaN rows missing) registered to the mean face and whitened."""
        mean = self._means[name]
        ok = ~np.isnan(shape[:, 0])
        aligned = fit_similarity(shape, mean).apply(shape)
        deviation = np.where(ok[:, None], aligned - mean, 0.0).reshape(-1)
        return self._whiten[name] @ deviation

    def _vector(self, name: str, block: NDArray[np.float64]) -> NDArray[np.float32]:
        out = np.zeros(self.dim, np.float32)
        out[self._slices[name]] = block
        out[-1] = VIEW_OFFSET if name == "front" else -VIEW_OFFSET
        return out

    def photo_vector(self, photo: Landmarks) -> NDArray[np.float32]:
        """The vector of a gallery photo (all zeros when its landmarks cannot be used)."""
        for name, m in self.models.items():
            if m.pair.face_view == photo.view:
                if photo_problem(m, photo) is not None:
                    break
                return self._vector(name, self._block(name, photo_points(m, photo)[0]))
        return np.zeros(self.dim, np.float32)

    def query_vector(self, prediction: Prediction) -> NDArray[np.float32]:
        """The vector of a query's predicted face (all zeros when the query cannot be assessed)."""
        if prediction.problem:
            return np.zeros(self.dim, np.float32)
        return self._vector(prediction.pair.name, self._block(prediction.pair.name, prediction.mean))
