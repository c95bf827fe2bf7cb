"""Render resources/icons/tidings.svg into the PNG, ICO and ICNS files the installers use.

    python packaging/make_icons.py        # rewrites resources/icons/*.png, tidings.ico, tidings.icns

The outputs are committed, so a build never needs this; run it after editing the SVG.
Uses only PySide6 (QtSvg ships in PySide6-Essentials) and the standard library.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size.
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def render(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data)


def ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico whose entries are PNG images (valid since Vista)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        data = pngs[s]
        dim = 0 if s >= 256 else s
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    body = b""
    for s, kind in ICNS_TYPES.items():
        if s in pngs:
            body += kind + struct.pack(">I", 8 + len(pngs[s])) + pngs[s]
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (image plugins)
    renderer = QSvgRenderer(str(ICONS / "tidings.svg"))
    if not renderer.isValid():
        print("cannot read tidings.svg", file=sys.stderr)
        return 1
    pngs = {s: render(renderer, s) for s in sorted(set(PNG_SIZES) | set(ICO_SIZES) | set(ICNS_TYPES))}
    for s in PNG_SIZES:
        (ICONS / f"tidings-{s}.png").write_bytes(pngs[s])
    (ICONS / "tidings.png").write_bytes(pngs[256])
    (ICONS / "tidings.ico").write_bytes(ico({s: pngs[s] for s in ICO_SIZES}))
    (ICONS / "tidings.icns").write_bytes(icns(pngs))
    print(f"wrote {len(PNG_SIZES) + 1} PNGs, tidings.ico, tidings.icns into {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
