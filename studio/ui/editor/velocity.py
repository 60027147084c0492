"""Velocity lane under the roll: one stem per note; drag to draw velocities.

Plain drag sets the velocity of the notes under the mouse (only selected ones when there
is a selection); Shift+drag scales the selection (or all notes) relative to where it was.
Each drag is one undo step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from studio.core import edits
from studio.core.song import Notes
from studio.ui.document import SongDocument
from studio.ui.editor import theme
from studio.ui.editor.viewport import RollViewport

LANE_HEIGHT = 96
PAD = 6


class VelocityLane(QWidget):
    wheelScrolled = Signal(QWheelEvent)

    def __init__(self, document: SongDocument, view: RollViewport, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.view = view
        self._last_x: float | None = None
        self._scale_from: tuple[float, Notes] | None = None
        self.setMinimumHeight(48)
        self.setFixedHeight(LANE_HEIGHT)
        self.setToolTip(
            "Drag to set velocities (only selected notes when there is a selection); "
            "Shift+drag scales the selection"
        )
        for signal in (
            document.changed,
            document.selectionChanged,
            document.activeTrackChanged,
            view.changed,
        ):
            signal.connect(self.update)

    def _value_at(self, y: float) -> int:
        usable = max(1.0, self.height() - 2 * PAD)
        return int(np.clip(round(127 * (self.height() - PAD - y) / usable), 1, 127))

    def _y_of(self, velocity: np.ndarray) -> np.ndarray:
        usable = max(1.0, self.height() - 2 * PAD)
        return self.height() - PAD - velocity.astype(np.float64) / 127 * usable

    def _visible_rows(self) -> np.ndarray:
        t0, t1 = self.view.visible_ticks()
        notes = self.document.active_notes()
        rows = notes.indices_in_range(t0, t1)
        return rows[notes.start[rows] >= t0 - 1] if len(rows) else rows

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), theme.VELOCITY_BG)
        p.setPen(QPen(theme.VELOCITY_GUIDE, 0))
        for level in (32, 64, 96, 127):
            y = float(self._y_of(np.array([level]))[0])
            p.drawLine(QPointF(0, y), QPointF(w, y))
        track = self.document.active()
        if track is not None:
            notes = track.notes
            rows = self._visible_rows()
            if len(rows):
                xs = (
                    np.round((notes.start[rows] - self.view.left_tick) * self.view.px_per_tick)
                    + 0.5
                )
                ys = self._y_of(notes.velocity[rows])
                selected = (
                    np.isin(notes.ids[rows], self.document.selection)
                    if len(self.document.selection)
                    else np.zeros(len(rows), dtype=bool)
                )
                colour = QColor(track.colour)
                for is_sel in (False, True):
                    m = selected == is_sel
                    if not m.any():
                        continue
                    x_m, y_m = xs[m], ys[m]
                    if len(x_m) > w:  # more stems than pixels: keep the loudest per column
                        column = np.clip(x_m.astype(np.int64), 0, w)
                        top = np.full(w + 1, np.inf)
                        np.minimum.at(top, column, y_m)
                        keep = np.isfinite(top)
                        x_m, y_m = np.nonzero(keep)[0] + 0.5, top[keep]
                    pen = QPen(colour.lighter(160) if is_sel else colour, 2 if is_sel else 1.5)
                    p.setPen(pen)
                    p.drawLines(
                        [
                            QLineF(x, h - PAD, x, y)
                            for x, y in zip(x_m.tolist(), y_m.tolist(), strict=True)
                        ]
                    )
                    if len(x_m) <= w / 6:  # heads only where stems have room
                        p.setBrush(colour.lighter(160) if is_sel else colour)
                        for x, y in zip(x_m.tolist(), y_m.tolist(), strict=True):
                            p.drawEllipse(QPointF(x, y), 2.5, 2.5)
        p.setPen(theme.RULER_TEXT)
        font = QFont(p.font())
        font.setPixelSize(10)
        p.setFont(font)
        p.drawText(QRectF(4, 2, 100, 14), "Velocity")
        p.end()

    def _rows_near(self, x_from: float, x_to: float) -> np.ndarray:
        """Rows of notes whose stem lies between two mouse x positions (± 3 px)."""
        notes = self.document.active_notes()
        rows = self._visible_rows()
        if not len(rows):
            return rows
        xs = (notes.start[rows] - self.view.left_tick) * self.view.px_per_tick
        lo, hi = min(x_from, x_to) - 3, max(x_from, x_to) + 3
        rows = rows[(xs >= lo) & (xs <= hi)]
        if len(self.document.selection):
            rows = rows[np.isin(notes.ids[rows], self.document.selection)]
        return rows

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.document.active() is None:
            return
        doc = self.document
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            notes = doc.active_notes()
            ids = doc.target_ids()
            self._scale_from = (event.position().y(), notes.take(notes.indices_of_ids(ids)))
            doc.begin_gesture("Scale velocity")
            return
        doc.begin_gesture("Set velocity")
        self._last_x = event.position().x()
        self._paint_velocity(event.position().x(), event.position().y())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._scale_from is not None:
            y0, originals = self._scale_from
            factor = float(2.0 ** ((y0 - pos.y()) / 60.0))
            values = np.clip(np.rint(originals.velocity * factor), 1, 127).astype(np.int64)
            # Values follow the originals' row order, which is the order of their ids.
            self.document.push(edits.SetVelocity(self.document.active_track, originals.ids, values))
            return
        if self._last_x is None:
            return
        self._paint_velocity(self._last_x, pos.x(), pos.y())
        self._last_x = pos.x()

    def _paint_velocity(self, x_from: float, x_to: float, y: float | None = None) -> None:
        if y is None:  # called as (x, y) on press
            x_to, y = x_from, x_to
        rows = self._rows_near(x_from, x_to)
        if not len(rows):
            return
        notes = self.document.active_notes()
        self.document.push(
            edits.SetVelocity(self.document.active_track, notes.ids[rows], self._value_at(y))
        )

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._last_x = None
        self._scale_from = None
        self.document.end_gesture()

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.wheelScrolled.emit(event)
        event.accept()
