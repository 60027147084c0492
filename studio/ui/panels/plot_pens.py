"""The pens the Training panel's plots and quality tiles draw with."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor


def plot_pen(
    colour: str, width: float = 1.0, alpha: int = 255, dashed: bool = False, bright: bool = False
) -> pg.QtGui.QPen:
    """A cosmetic pen (its width in pixels, whatever the zoom); ``bright`` lightens the
    colour, for a smoothed curve over its faint raw points."""
    c = QColor(colour).lighter(125) if bright else QColor(colour)
    c.setAlpha(alpha)
    pen = pg.mkPen(c, width=width)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    return pen
