"""Image loading and classical preprocessing (no torch, no Qt).

Pixel convention across the project: colour images are RGB ``uint8`` arrays of shape
``(H, W, 3)``; greyscale images are ``(H, W)`` arrays of ``uint8`` or ``uint16``, or ``float32``
in [0, 1] after processing. OpenCV's BGR order never leaves the function that calls OpenCV.
"""
