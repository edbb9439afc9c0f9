"""Injury simulation on aligned face photos, for training, evaluation and tests: the kinds and
regions (:mod:`~crossid_desktop.synth.injuries.simulate`), the effects that paint them
(:mod:`~crossid_desktop.synth.injuries.effects`) and the drawing primitives they share
(:mod:`~crossid_desktop.synth.injuries.rendering`). Every injury comes with its mask."""
