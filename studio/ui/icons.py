"""Bundled SVG icons."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from studio.paths import resource_path


@cache
def icon(name: str) -> QIcon:
    """The icon `resources/icons/<name>.svg` (an empty icon if it is missing)."""
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()
