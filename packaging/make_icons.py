"""Render resources/icons/pianola.svg into the platform icons under packaging/icons/.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py

Writes pianola.png (256 px, Linux menu), pianola.ico (16-256 px, Windows) and pianola.icns
(macOS). Run it after changing the SVG and commit the results, so that Windows and macOS
builds need neither Qt's SVG renderer nor Pillow at build time. Needs Pillow (dev env).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
ICO_SIZES = (16, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int, folder: Path) -> Image.Image:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    path = folder / f"{size}.png"
    image.save(str(path))
    return Image.open(path).convert("RGBA")


def main() -> int:
    _app = QGuiApplication(sys.argv)
    renderer = QSvgRenderer(str(ROOT / "resources" / "icons" / "pianola.svg"))
    if not renderer.isValid():
        print("make_icons: resources/icons/pianola.svg is not a valid SVG", file=sys.stderr)
        return 1
    out = ROOT / "packaging" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        images = {size: render(renderer, size, Path(tmp)) for size in (*ICO_SIZES, 1024)}
        images[256].save(out / "pianola.png")
        images[256].save(out / "pianola.ico", sizes=[(s, s) for s in ICO_SIZES])
        images[1024].save(out / "pianola.icns")
    print(f"make_icons: wrote {', '.join(p.name for p in sorted(out.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
