"""Bar/beat ruler: click to place the playhead, drag to make a loop region."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from studio.core.quantize import snap_nearest
from studio.ui.document import SongDocument
from studio.ui.editor import theme
from studio.ui.editor.grid import bar_number_at, bar_ticks, beat_ticks
from studio.ui.editor.state import EditorState
from studio.ui.editor.viewport import RollViewport

RULER_HEIGHT = 30
LOOP_BAND = 9  # the loop region is drawn in the ruler's top band


class Ruler(QWidget):
    """Time ruler over the note canvas."""

    def __init__(
        self, document: SongDocument, state: EditorState, view: RollViewport, parent=None
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.state = state
        self.view = view
        self._press_tick: int | None = None
        self._press_x = 0.0
        self._looping = False
        self.setFixedHeight(RULER_HEIGHT)
        self.setToolTip(
            "Click to move the playhead; drag to set a loop region; right-click clears the loop"
        )
        view.changed.connect(self.update)
        document.loopChanged.connect(self.update)
        document.changed.connect(self.update)
        document.playheadChanged.connect(self._playhead_moved)
        self._playhead_x = self.view.x_of(document.playhead)

    def _tick_at(self, x: float, modifiers: Qt.KeyboardModifier) -> int:
        tick = max(0, round(self.view.tick_at(x)))
        if self.state.snap_enabled and not (modifiers & Qt.KeyboardModifier.AltModifier):
            tick = snap_nearest(tick, self.state.grid_ticks(self.document.song.ticks_per_beat))
        return max(0, tick)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        view, song = self.view, self.document.song
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), theme.RULER_BG)
        loop = self.document.loop
        if loop is not None:
            x0, x1 = view.x_of(loop[0]), view.x_of(loop[1])
            p.fillRect(QRectF(x0, 0, x1 - x0, LOOP_BAND), theme.LOOP_EDGE)
        t0, t1 = view.visible_ticks()
        if view.px_per_beat >= 6:
            p.setPen(QPen(theme.RULER_TICK, 0))
            for tick in beat_ticks(song, t0, t1).tolist():
                x = round(view.x_of(tick)) + 0.5
                p.drawLine(QPointF(x, h - 6), QPointF(x, h))
        bars = bar_ticks(song, t0, t1).tolist()
        bar_px = song.ticks_per_bar(t0) * view.px_per_tick
        label_every = 1
        while bar_px * label_every < 36:
            label_every *= 2
        font = QFont(p.font())
        font.setPixelSize(11)
        p.setFont(font)
        for tick in bars:
            number = bar_number_at(song, tick)
            if (number - 1) % label_every:
                continue
            x = round(view.x_of(tick)) + 0.5
            p.setPen(QPen(theme.RULER_TICK, 0))
            p.drawLine(QPointF(x, LOOP_BAND), QPointF(x, h))
            p.setPen(theme.RULER_TEXT)
            p.drawText(
                QRectF(x + 4, LOOP_BAND, 60, h - LOOP_BAND),
                Qt.AlignmentFlag.AlignVCenter,
                str(number),
            )
        p.setPen(QPen(theme.RULER_TICK, 0))
        p.drawLine(0, h - 1, w, h - 1)
        x = self.view.x_of(self.document.playhead)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.PLAYHEAD)
        p.drawPolygon(QPolygonF([QPointF(x - 6, h - 10), QPointF(x + 6, h - 10), QPointF(x, h)]))
        p.end()

    def _playhead_moved(self, tick: int) -> None:
        old, new = self._playhead_x, self.view.x_of(tick)
        self._playhead_x = new
        h = self.height()
        self.update(QRect(int(old) - 8, 0, 17, h))
        self.update(QRect(int(new) - 8, 0, 17, h))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.document.set_loop(None)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._press_x = event.position().x()
        self._press_tick = self._tick_at(self._press_x, event.modifiers())
        self._looping = False
        self.document.set_playhead(self._press_tick)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press_tick is None:
            return
        x = event.position().x()
        if not self._looping and abs(x - self._press_x) < 4:
            return
        self._looping = True
        tick = self._tick_at(x, event.modifiers())
        self.document.set_loop(self._press_tick, tick)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press_tick = None
        self._looping = False
