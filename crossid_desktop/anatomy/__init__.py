"""Anatomy as data: the named landmarks of skull X-rays and face photos, and the published
facial soft-tissue depths between them. Pure Python and numpy; no images, no models.

Modules: ``landmarks`` (the one table of named points: view, tissue, soft-tissue counterpart,
cephalometric or face-scheme label), ``soft_tissue`` (adult facial soft-tissue thickness at
the paired points, with spread and sex/build variants, from the published tables).
"""
