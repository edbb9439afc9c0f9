"""CrossID Desktop: rank a gallery of face photos against a skull X-ray or an injured face.

The package is layered (see README): everything outside ``crossid_desktop.gui`` is plain
Python that the CLI, the tests and batch jobs drive; only ``gui`` imports Qt.
"""

__version__ = "0.1.0"
