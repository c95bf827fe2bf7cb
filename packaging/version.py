"""The app's version, read from its one home: `__version__` in app/__init__.py.

Read as text (not imported), so it works before dependencies are installed and never imports Qt.
    python packaging/version.py      # prints the version, e.g. X.Y.Z
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def app_version() -> str:
    text = (ROOT / "app" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.M)
    if not m:
        raise SystemExit("no __version__ in app/__init__.py")
    return m.group(1)


if __name__ == "__main__":
    print(app_version())
