"""Synthetic cohort: simulated people with paired skull X-rays and face photos, plus injured
variants, written in the S2F and IF data-set layouts with the exact landmark positions of every
image; deterministic from a seed.

Entry point: :func:`crossid_desktop.synth.cohort.generate_cohort`. Modules: ``params``
(identity parameters and per-image nuisance), ``outline`` (the skin surface), ``raster``
(drawing in mm), ``paint`` (painting photos), ``skull_front_shapes`` / ``skull_side_shapes``
(where the bones lie), ``skull`` (radiographs), ``face`` / ``face_profile`` (photos),
``contour`` (outlines of drawn parts and the rules that pick landmarks on them),
``truth_skull`` / ``truth_face`` / ``truth`` (ground-truth landmarks), ``cohort`` (writing),
``sheet`` (contact sheet).
"""
