"""Tidings' desktop reader (PySide6). It drives the Qt-free core only through `app.core.Tidings`."""
