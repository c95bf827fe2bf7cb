"""Imported by the window module before anything else of ours, for its side effect (below)."""

from __future__ import annotations


def skip_pyside_source_scan() -> None:
    """Once PySide6 is loaded it reads the source of every module imported after it
    (`inspect.getsource`, looking for `from __feature__ import ...`: PYSIDE-2029; napari#8584
    measured the same tax). Tidings uses no __feature__, so every module is taken as one that does
    not: the default a module without the import gets anyway. It cost ~15 ms of start-up and made
    the sync's first imports, in a worker thread, hold the GIL long enough to stall the window.
    Not in ui/__init__.py: `ui.launch` starts the command line without Qt."""
    try:
        import shiboken6  # noqa: F401 - installs the import hook
        from shibokensupport import feature
    except Exception:  # noqa: BLE001 - another PySide layout: nothing to skip
        return
    if callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = lambda module: False


skip_pyside_source_scan()
