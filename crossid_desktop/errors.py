"""The project's own exception types.

Every error a user can cause (a bad file, a missing model, an empty gallery) is raised as a
:class:`CrossIDError` whose message is one sentence a user understands. The CLI prints that
sentence and exits non-zero; the GUI shows it in a dialog. Neither shows a traceback unless
asked (``--debug``).
"""

from __future__ import annotations


class CrossIDError(Exception):
    """Base class: an error with a message meant for the user."""

    #: process exit status the CLI uses for this kind of error
    exit_code: int = 2


class InvalidImageError(CrossIDError):
    """A file that cannot be read as an image (corrupt, truncated, empty, not an image,
    too large, a DICOM without pixel data)."""


class UnsuitableImageError(CrossIDError):
    """An image that can be read but cannot serve the step asked of it (a blank image, an
    image that is not the kind of picture the step needs)."""


class CalibrationError(CrossIDError):
    """A pixel-spacing calibration that cannot be made (ruler points too close together, a
    known distance that is not a positive length)."""


class UnsuitableQueryError(CrossIDError):
    """A query that cannot be searched meaningfully: the same image twice, an image too small,
    an X-ray too uniform or without the structure of a skull."""


class NoFaceFoundError(CrossIDError):
    """A photo in which no face was detected."""


class DatasetError(CrossIDError):
    """A data-set folder or manifest that does not follow its layout."""


class ModelError(CrossIDError):
    """A missing, corrupt or foreign model checkpoint, or weights that cannot be had."""


class MatcherMismatchError(CrossIDError):
    """A matcher that does not fit the query modality, or the gallery index it is asked to use."""


class GalleryError(CrossIDError):
    """An empty gallery, an unknown subject, or a gallery database that cannot be used."""


class CaseError(CrossIDError):
    """An unknown case, or a case whose audit log does not verify."""


class Cancelled(CrossIDError):
    """A long job stopped because its ``cancel`` event was set."""

    exit_code = 130
