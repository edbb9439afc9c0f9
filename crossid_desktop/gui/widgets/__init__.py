"""The window's widgets, one a module."""
