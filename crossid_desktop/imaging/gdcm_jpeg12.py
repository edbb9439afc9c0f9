"""A pydicom decoding plugin: 12-bit JPEG Extended (Process 4) frames decoded by GDCM.

JPEG Extended with 12-bit samples (transfer syntax 1.2.840.10008.1.2.4.51) is the default
lossy syntax for 12-bit radiographs. pydicom 3.0's own GDCM plugin refuses 12-bit samples,
and the only other decoder, ``pylibjpeg-libjpeg``, is licensed under the GPL. GDCM itself
decodes such frames (its 12-bit IJG codec), so this plugin hands it one frame's JPEG code
stream, exactly as pydicom's GDCM plugin does for 8-bit frames, without the refusal.

Only the code stream reaches GDCM, never the file: ``gdcm.ImageReader`` on whole files was
measured to abort the process on one of pydicom's test files (a C++ exception that Python
cannot catch). The plugin follows pydicom's plugin protocol (``is_available``,
``DECODER_DEPENDENCIES``, a ``_decode_frame(src, runner)`` function) and is registered by
:func:`crossid_desktop.imaging.dicom.prepare_pydicom`.
"""

from __future__ import annotations

from typing import Any

from pydicom import uid

#: pydicom's plugin protocol: what the plugin needs, per transfer syntax it decodes.
DECODER_DEPENDENCIES = {uid.JPEGExtended12Bit: ("gdcm>=3.0",)}


def is_available(syntax: str) -> bool:
    """True when GDCM is importable and ``syntax`` is 12-bit JPEG Extended."""
    if syntax != uid.JPEGExtended12Bit:
        return False
    try:
        import gdcm  # noqa: F401  (heavy C++ extension, imported only when asked)
    except ImportError:
        return False
    return True


def _decode_frame(src: bytes, runner: Any) -> bytes:
    """One frame's JPEG code stream -> its decoded sample bytes (native byte order).

    ``runner`` is pydicom's ``DecodeRunner``: it supplies rows, columns, samples per pixel,
    bits allocated and stored, pixel representation and photometric interpretation.
    """
    import gdcm

    fragment = gdcm.Fragment()
    fragment.SetByteStringValue(src)
    fragments = gdcm.SequenceOfFragments.New()
    fragments.AddFragment(fragment)
    element = gdcm.DataElement(gdcm.Tag(0x7FE0, 0x0010))
    element.SetValue(fragments.__ref__())

    image = gdcm.Image()
    image.SetNumberOfDimensions(2)
    image.SetDimensions((runner.columns, runner.rows, 1))
    image.SetDataElement(element)
    kind = gdcm.PhotometricInterpretation.GetPIType(str(runner.photometric_interpretation))
    image.SetPhotometricInterpretation(gdcm.PhotometricInterpretation(kind))
    if runner.samples_per_pixel > 1:
        image.SetPlanarConfiguration(runner.planar_configuration)
    image.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.GetTSType(str(uid.JPEGExtended12Bit))))
    bits = runner.bits_stored
    image.SetPixelFormat(gdcm.PixelFormat(runner.samples_per_pixel, runner.bits_allocated, bits, bits - 1, runner.pixel_representation))
    decoded = image.GetBuffer()
    if decoded is None:
        raise ValueError("GDCM could not decode the 12-bit JPEG frame")
    frame = decoded.encode("utf-8", "surrogateescape")  # GDCM hands char* back as str
    expected = runner.rows * runner.columns * runner.samples_per_pixel * (runner.bits_allocated // 8)
    if len(frame) != expected:
        raise ValueError(f"GDCM decoded {len(frame)} bytes where the header promises {expected}")
    return frame
