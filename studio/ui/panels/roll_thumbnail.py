"""Small piano-roll pictures of songs, and a scrolling strip of them.

Training previews and generated variations are shown as thumbnails: a click plays one,
a double-click opens it. The picture is painted once into a cached pixmap (notes as
coloured bars, one colour per track, on a dark background with bar lines) and only
re-painted when the song or the size changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QScrollArea,
    QSizePolicy,
    QWidget,
)

from studio.core.pianoroll import RollSpec, roll_to_song
from studio.core.song import Song

BACKGROUND = QColor("#17181b")
BAR_LINE = QColor("#2e3036")
BORDER = QColor("#3a3d44")
SELECTED = QColor("#4fc3f7")
PLAYING = QColor("#81c784")
CAPTION = QColor("#b8bcc4")
THUMB_SIZE = QSize(168, 96)
CAPTION_HEIGHT = 18
SPACING = 8


@dataclass(frozen=True)
class _NoteBars:
    """Every note of a song as flat arrays, ready to be scaled into a picture."""

    pitch: np.ndarray
    start: np.ndarray
    end: np.ndarray
    track: np.ndarray
    colours: tuple[str, ...]
    length: int  # ticks shown (whole bars)
    bar_ticks: int
    low: int
    high: int

    @classmethod
    def from_song(cls, song: Song) -> _NoteBars:
        pitch, start, end, track = [], [], [], []
        for k, t in enumerate(song.tracks):
            n = t.notes
            pitch.append(n.pitch.astype(np.int64))
            start.append(n.start)
            end.append(n.start + n.duration)
            track.append(np.full(len(n), k, dtype=np.int64))
        p, s, e, tr = (_concat(pitch), _concat(start), _concat(end), _concat(track))
        bar = max(1, song.ticks_per_bar(0))
        length = max(bar, int(np.ceil(max(song.end_tick, 1) / bar)) * bar)
        if len(p):
            low, high = int(p.min()) - 2, int(p.max()) + 2
        else:
            low, high = 48, 84
        if high - low < 24:  # never zoom in so far that a few notes look like a wall
            mid = (low + high) // 2
            low, high = mid - 12, mid + 12
        return cls(p, s, e, tr, tuple(t.colour for t in song.tracks), length, bar, low, high)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


class RollThumbnail(QWidget):
    """A small picture of a song. Click: ``clicked``; double-click: ``doubleClicked``."""

    clicked = Signal()
    doubleClicked = Signal()

    def __init__(
        self,
        song: Song,
        caption: str = "",
        parent: QWidget | None = None,
        size: QSize = THUMB_SIZE,
    ) -> None:
        super().__init__(parent)
        self._size = QSize(size)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFixedSize(size.width(), size.height() + CAPTION_HEIGHT)
        self._caption = caption
        self._selected = False
        self._playing = False
        self._cache: QPixmap | None = None
        self.song = song
        self._bars = _NoteBars.from_song(song)
        self.setToolTip(
            f"{caption or song.title}: {song.note_count} notes in {len(song.tracks)} tracks\n"
            "Click to listen · double-click to open in the editor"
        )
        self.setAccessibleName(caption or song.title)

    @classmethod
    def from_roll(
        cls,
        roll: np.ndarray,
        spec: RollSpec | None = None,
        caption: str = "",
        parent: QWidget | None = None,
    ) -> RollThumbnail:
        """A thumbnail of a ``[tracks, steps, pitches]`` roll."""
        roll = np.asarray(roll)
        spec = spec or RollSpec(n_pitches=roll.shape[-1])
        return cls(roll_to_song(roll, spec, title=caption or "Preview"), caption, parent)

    # -- state -------------------------------------------------------------------------
    @property
    def caption(self) -> str:
        return self._caption

    @property
    def selected(self) -> bool:
        return self._selected

    def set_selected(self, selected: bool) -> None:
        if selected != self._selected:
            self._selected = selected
            self.update()

    @property
    def playing(self) -> bool:
        return self._playing

    def set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.update()

    # -- input -------------------------------------------------------------------------
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.doubleClicked.emit()
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            self.clicked.emit()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.doubleClicked.emit()
        else:
            super().keyPressEvent(event)

    # -- painting ------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        self._cache = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._cache is None or self._cache.size() != self._roll_rect().size().toSize():
            self._cache = self._render_roll()
        painter = QPainter(self)
        roll_rect = self._roll_rect()
        painter.drawPixmap(roll_rect.topLeft(), self._cache)
        border = PLAYING if self._playing else SELECTED if self._selected else BORDER
        painter.setPen(QPen(border, 2.0 if (self._playing or self._selected) else 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(roll_rect.adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        if self._playing:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PLAYING)
            x, y = roll_rect.left() + 8, roll_rect.top() + 7
            painter.drawPolygon([_pt(x, y), _pt(x, y + 10), _pt(x + 9, y + 5)])
        painter.setPen(self.palette().highlight().color() if self.hasFocus() else CAPTION)
        caption_rect = QRectF(0, roll_rect.bottom() + 2, self.width(), CAPTION_HEIGHT - 2)
        text = self.fontMetrics().elidedText(
            self._caption, Qt.TextElideMode.ElideRight, self.width() - 4
        )
        painter.drawText(caption_rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    def _roll_rect(self) -> QRectF:
        return QRectF(0, 0, self.width(), self.height() - CAPTION_HEIGHT)

    def _render_roll(self) -> QPixmap:
        size = self._roll_rect().size().toSize()
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(size * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BACKGROUND)
        painter.drawRoundedRect(QRectF(0, 0, size.width(), size.height()), 4, 4)
        bars = self._bars
        w, h = float(size.width()), float(size.height())
        pad = 3.0
        sx = (w - 2 * pad) / bars.length
        rows = bars.high - bars.low + 1
        row_h = (h - 2 * pad) / rows
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # crisp note bars
        painter.setPen(QPen(BAR_LINE, 1.0))
        for tick in range(bars.bar_ticks, bars.length, bars.bar_ticks):
            x = pad + tick * sx
            painter.drawLine(_pt(x, pad), _pt(x, h - pad))
        painter.setPen(Qt.PenStyle.NoPen)
        note_h = max(1.5, row_h * 0.9)
        for k, colour in enumerate(bars.colours):
            mask = bars.track == k
            if not mask.any():
                continue
            painter.setBrush(QColor(colour))
            xs = pad + bars.start[mask] * sx
            ws = np.maximum((bars.end[mask] - bars.start[mask]) * sx - 0.5, 1.0)
            ys = pad + (bars.high - bars.pitch[mask]) * row_h
            for x, y, width in zip(xs.tolist(), ys.tolist(), ws.tolist(), strict=True):
                painter.drawRect(QRectF(x, y, width, note_h))
        painter.end()
        return pixmap

    def sizeHint(self) -> QSize:
        return QSize(self._size.width(), self._size.height() + CAPTION_HEIGHT)


def _pt(x: float, y: float) -> QPointF:
    return QPointF(x, y)


class ThumbnailStrip(QScrollArea):
    """A horizontally scrolling row of thumbnails (or, with ``wrap``, a grid that fills
    the width and scrolls vertically).

    ``playRequested(index)`` on click, ``openRequested(index)`` on double-click;
    a click selects (Ctrl-click adds to the selection). With ``max_items`` the oldest
    thumbnails are dropped, so hours of training previews do not pile up.
    """

    playRequested = Signal(int)
    openRequested = Signal(int)
    selectionChanged = Signal()

    def __init__(
        self,
        max_items: int | None = None,
        empty_text: str = "",
        parent: QWidget | None = None,
        thumb_size: QSize = THUMB_SIZE,
        wrap: bool = False,
    ) -> None:
        super().__init__(parent)
        self._max_items = max_items
        self._thumb_size = QSize(thumb_size)
        self._wrap = wrap
        self._columns = 0
        self._items: list[RollThumbnail] = []
        self._inner = QWidget()
        self.setWidget(self._inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        if wrap:
            self._grid = QGridLayout(self._inner)
            self._grid.setContentsMargins(6, 6, 6, 6)
            self._grid.setSpacing(SPACING)
            self._grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            self.setMinimumHeight(thumb_size.height() + CAPTION_HEIGHT + 16)
        else:
            self._row = QHBoxLayout(self._inner)
            self._row.setContentsMargins(6, 6, 6, 6)
            self._row.setSpacing(SPACING)
            self._row.addStretch(1)
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scrollbar = self.horizontalScrollBar().sizeHint().height()
            self.setFixedHeight(thumb_size.height() + CAPTION_HEIGHT + 12 + scrollbar)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._empty_text = empty_text
        self.setToolTip(empty_text)

    # -- content -------------------------------------------------------------------------
    def add_song(self, song: Song, caption: str = "") -> RollThumbnail:
        thumb = RollThumbnail(song, caption, size=self._thumb_size)
        thumb.clicked.connect(self._on_clicked)
        thumb.doubleClicked.connect(self._on_double_clicked)
        self._items.append(thumb)
        if self._wrap:
            self._place_in_grid(len(self._items) - 1)
        else:
            self._row.insertWidget(self._row.count() - 1, thumb)
        if self._max_items is not None:
            while len(self._items) > self._max_items:
                old = self._items.pop(0)
                self._layout().removeWidget(old)
                old.deleteLater()
            if self._wrap:
                self._relayout()
        if not self._wrap:
            # Follow the newest thumbnail once the layout has placed it.
            QTimer.singleShot(0, self._scroll_to_end)
        return thumb

    def clear(self) -> None:
        for thumb in self._items:
            self._layout().removeWidget(thumb)
            thumb.deleteLater()
        self._items.clear()
        self.selectionChanged.emit()

    def __len__(self) -> int:
        return len(self._items)

    def thumbnail(self, index: int) -> RollThumbnail:
        return self._items[index]

    def song(self, index: int) -> Song:
        return self._items[index].song

    def songs(self) -> list[Song]:
        return [t.song for t in self._items]

    # -- selection and playing state ----------------------------------------------------
    def selected_indices(self) -> list[int]:
        return [k for k, t in enumerate(self._items) if t.selected]

    def select(self, index: int, add: bool = False) -> None:
        for k, thumb in enumerate(self._items):
            if k == index:
                thumb.set_selected(not thumb.selected if add else True)
            elif not add:
                thumb.set_selected(False)
        self.selectionChanged.emit()

    def set_playing(self, index: int | None) -> None:
        for k, thumb in enumerate(self._items):
            thumb.set_playing(k == index)

    # -- internals --------------------------------------------------------------------------
    def _index_of(self, thumb: object) -> int:
        for k, t in enumerate(self._items):
            if t is thumb:
                return k
        return -1

    def _on_clicked(self) -> None:
        index = self._index_of(self.sender())
        if index < 0:
            return
        add = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier)
        self.select(index, add=add)
        self.playRequested.emit(index)

    def _on_double_clicked(self) -> None:
        index = self._index_of(self.sender())
        if index >= 0:
            self.openRequested.emit(index)

    def _layout(self) -> QGridLayout | QHBoxLayout:
        return self._grid if self._wrap else self._row

    def _columns_for_width(self) -> int:
        usable = self.viewport().width() - 12 + SPACING
        return max(1, usable // (self._thumb_size.width() + SPACING))

    def _place_in_grid(self, index: int) -> None:
        columns = self._columns or self._columns_for_width()
        self._columns = columns
        row, col = divmod(index, columns)
        self._grid.addWidget(self._items[index], row, col)

    def _relayout(self) -> None:
        for thumb in self._items:
            self._grid.removeWidget(thumb)
        self._columns = self._columns_for_width()
        for k in range(len(self._items)):
            self._place_in_grid(k)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._wrap and self._columns_for_width() != self._columns:
            self._relayout()

    def _scroll_to_end(self) -> None:
        bar = self.horizontalScrollBar()
        bar.setValue(bar.maximum())

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._items and self._empty_text:
            painter = QPainter(self.viewport())
            painter.setPen(CAPTION)
            painter.drawText(
                self.viewport().rect(),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._empty_text,
            )
            painter.end()
