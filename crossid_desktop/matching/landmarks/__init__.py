"""Landmarks of query images: the named points of :mod:`crossid_desktop.anatomy.landmarks`.

Skull X-rays (frontal and lateral): a coarse-to-fine heatmap detector (:mod:`.detector`, its
networks in :mod:`.heatmap_net`, its training in :mod:`.training`), bundled as
``resources/models/xray_landmarks_front.pt`` and ``xray_landmarks_side.pt``. The plain-Python
entry point for the command line and the desktop application is
:func:`.service.find_landmarks`. torch is imported only by the modules that run the networks,
never by this package's ``__init__``.
"""
