"""Data sets on disk, read into plain frozen records: the paired skull-face layout
(:mod:`~crossid_desktop.datasets.skull_faces`), the injured-face layout
(:mod:`~crossid_desktop.datasets.injured_faces`), gallery folders and CSV manifests
(:mod:`~crossid_desktop.datasets.gallery_sources`), what a folder holds
(:mod:`~crossid_desktop.datasets.summary`) and subject-disjoint splits
(:mod:`~crossid_desktop.datasets.splits`). Used by enrolment, training, evaluation and the CLI."""
