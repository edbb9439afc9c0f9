"""Synthetic cohort: simulated people with paired skull X-rays and face photos, plus injured
variants, written in the S2F and IF data-set layouts; deterministic from a seed.

Entry point: :func:`crossid_desktop.synth.cohort.generate_cohort`. Modules: ``params``
(identity parameters and per-image nuisance), ``outline`` (the skin surface), ``raster``
(drawing in mm), ``skull`` (radiographs), ``face`` (photos), ``cohort`` (writing), ``sheet``
(contact sheet).
"""
