"""Craniofacial correspondence: from a skull X-ray's landmarks to the face they predict, scored
against face photos with exclusion support (METHODS.md section 4).

``points`` (landmarks with per-point uncertainty, from any source), ``views`` (which skull
points predict which face points; soft-tissue correspondences), ``geometry`` (similarity
fits), ``model`` (prediction with spread), ``fit`` (fitting on paired people),
``assess`` (registration and Mahalanobis misfit of a photo), ``consistency`` (consistent /
inconsistent / not assessable), ``features`` (first-stage vectors for the index), ``fusion``
(with the Siamese network, to a likelihood ratio), ``model_file`` (on disk), ``annotations``
(landmarks from a data set's annotations, with simulated measurement error).
"""
