"""The desktop application (PySide6): the only package that imports Qt.

``app.py`` starts it, ``main_window.py`` composes the widgets of ``widgets/``, ``actions.py``
holds the menus and the toolbar, and ``worker.py`` runs every long job in one thread that owns
the loaded models. The science lives in the plain-Python services the CLI calls too.
"""
