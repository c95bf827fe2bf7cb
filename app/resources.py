"""Where Tidings' bundled resources (icons, styles, prompt templates) live.

From a source checkout they are in ``<repo>/resources``. In a frozen build (PyInstaller) they are
in ``<bundle>/resources``, where ``<bundle>`` is ``sys._MEIPASS``. ``TIDINGS_RESOURCES`` overrides both.
No Qt here: ``app`` never imports Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding ``icons/``, ``styles/`` and ``prompts/``."""
    override = os.environ.get("TIDINGS_RESOURCES")
    if override:
        return Path(override)
    if getattr(sys, "frozen", False):
        base = getattr(sys, "_MEIPASS", None) or os.path.dirname(sys.executable)
        return Path(base) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """A path inside the resources folder, e.g. ``resource_path("icons", "tidings.svg")``."""
    return resources_dir().joinpath(*parts)
