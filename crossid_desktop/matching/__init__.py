"""Embedding models: backbones, cross-domain networks, matchers, checkpoints and losses.

torch and torchvision are imported inside the modules that need them, never here, so that
importing ``crossid_desktop.matching.base`` stays cheap.
"""
