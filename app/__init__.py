"""Tidings core: the Qt-free library that the desktop UI and the CLI both drive.

Everything goes through one facade, :class:`app.core.Tidings` (made by
:func:`make_tidings`). Importing this package must never import Qt.
"""

__version__ = "0.1.0"

from app.core import Tidings, make_tidings  # noqa: E402
from app.errors import TidingsError  # noqa: E402

__all__ = ["Tidings", "make_tidings", "TidingsError", "__version__"]
