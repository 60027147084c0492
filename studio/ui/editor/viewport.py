"""Mapping between ticks/pitches and pixels, with zoom and scroll limits.

One `RollViewport` is shared by the note canvas, keyboard, ruler and velocity lane so
they always agree on what is visible.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal

N_PITCHES = 128
MIN_PX_PER_BEAT = 0.5  # a whole long piece fits on screen
MAX_PX_PER_BEAT = 4000.0  # single ticks become visible
MIN_ROW_HEIGHT = 3.0
# "Fit" never zooms rows below this: thinner rows cannot be read or clicked, so a wide
# range is centred at a readable height and the rest is a scroll away.
MIN_FIT_ROW_HEIGHT = 8.0
MAX_ROW_HEIGHT = 48.0


class RollViewport(QObject):
    """Zoom (pixels per beat, row height) and scroll position (left tick, top pixel)."""

    changed = Signal()

    def __init__(self, ticks_per_beat: int = 480, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ticks_per_beat = ticks_per_beat
        self.px_per_beat = 80.0
        self.row_height = 14.0
        self.left_tick = 0.0
        self.top_px = 0.0
        self.width = 1
        self.height = 1
        self.scroll_end_tick = 0  # the horizontal extent (song end plus room to write)
        self.center_on_pitch(66)

    # -- mapping -----------------------------------------------------------------------
    @property
    def px_per_tick(self) -> float:
        return self.px_per_beat / self.ticks_per_beat

    def x_of(self, tick: float) -> float:
        return (tick - self.left_tick) * self.px_per_tick

    def tick_at(self, x: float) -> float:
        return self.left_tick + x / self.px_per_tick

    def y_of(self, pitch: int) -> float:
        """Top edge of a pitch row."""
        return (N_PITCHES - 1 - pitch) * self.row_height - self.top_px

    def pitch_at(self, y: float) -> int:
        return N_PITCHES - 1 - math.floor((y + self.top_px) / self.row_height)

    def visible_ticks(self) -> tuple[int, int]:
        return math.floor(self.left_tick), math.ceil(self.tick_at(self.width)) + 1

    def visible_pitches(self) -> tuple[int, int]:
        """(lowest, highest) pitch with any part visible, clamped to 0–127."""
        high = min(N_PITCHES - 1, self.pitch_at(0))
        low = max(0, self.pitch_at(self.height - 1))
        return low, high

    @property
    def content_height(self) -> float:
        return N_PITCHES * self.row_height

    @property
    def max_top(self) -> float:
        return max(0.0, self.content_height - self.height)

    @property
    def max_left_tick(self) -> float:
        visible = self.width / self.px_per_tick
        return max(0.0, self.scroll_end_tick - visible)

    # -- changes -----------------------------------------------------------------------
    def set_ticks_per_beat(self, ticks_per_beat: int) -> None:
        if ticks_per_beat != self.ticks_per_beat:
            self.left_tick *= ticks_per_beat / self.ticks_per_beat
            self.ticks_per_beat = ticks_per_beat
            self.changed.emit()

    def set_size(self, width: int, height: int) -> None:
        width, height = max(1, int(width)), max(1, int(height))
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self._clamp()
            self.changed.emit()

    def set_scroll_end(self, tick: int) -> None:
        self.scroll_end_tick = max(0, int(tick))

    def scroll_to(self, left_tick: float | None = None, top_px: float | None = None) -> None:
        before = (self.left_tick, self.top_px)
        if left_tick is not None:
            self.left_tick = float(left_tick)
        if top_px is not None:
            self.top_px = float(top_px)
        self._clamp()
        if (self.left_tick, self.top_px) != before:
            self.changed.emit()

    def scroll_by(self, dx_px: float = 0.0, dy_px: float = 0.0) -> None:
        self.scroll_to(self.left_tick + dx_px / self.px_per_tick, self.top_px + dy_px)

    def zoom_x(self, factor: float, anchor_x: float | None = None) -> None:
        """Horizontal zoom keeping the tick under `anchor_x` in place (clamped)."""
        anchor_x = self.width / 2 if anchor_x is None else anchor_x
        anchor_tick = self.tick_at(anchor_x)
        new = min(MAX_PX_PER_BEAT, max(MIN_PX_PER_BEAT, self.px_per_beat * float(factor)))
        if not math.isfinite(new) or new == self.px_per_beat:
            return
        self.px_per_beat = new
        self.left_tick = anchor_tick - anchor_x / self.px_per_tick
        self._clamp()
        self.changed.emit()

    def zoom_y(self, factor: float, anchor_y: float | None = None) -> None:
        anchor_y = self.height / 2 if anchor_y is None else anchor_y
        anchor_row = (anchor_y + self.top_px) / self.row_height
        new = min(MAX_ROW_HEIGHT, max(MIN_ROW_HEIGHT, self.row_height * float(factor)))
        if not math.isfinite(new) or new == self.row_height:
            return
        self.row_height = new
        self.top_px = anchor_row * new - anchor_y
        self._clamp()
        self.changed.emit()

    def fit(self, start: int, end: int, low_pitch: int, high_pitch: int) -> None:
        """Zoom and scroll so that ticks [start, end) and the pitch range fill the view."""
        end = max(end, start + self.ticks_per_beat)
        span_beats = (end - start) / self.ticks_per_beat
        self.px_per_beat = min(
            MAX_PX_PER_BEAT, max(MIN_PX_PER_BEAT, self.width * 0.96 / span_beats)
        )
        rows = max(12, high_pitch - low_pitch + 5)
        self.row_height = min(MAX_ROW_HEIGHT, max(MIN_FIT_ROW_HEIGHT, self.height / rows))
        self.left_tick = max(0.0, start - self.width * 0.02 / self.px_per_tick)
        middle = (low_pitch + high_pitch) / 2
        self.top_px = (N_PITCHES - 1 - middle + 0.5) * self.row_height - self.height / 2
        self._clamp()
        self.changed.emit()

    def center_on_pitch(self, pitch: int) -> None:
        self.scroll_to(top_px=(N_PITCHES - 1 - pitch + 0.5) * self.row_height - self.height / 2)

    def ensure_tick_visible(self, tick: int, margin: float = 0.1) -> None:
        """Page the view when `tick` leaves it (as the playhead does while following)."""
        x = self.x_of(tick)
        if 0 <= x <= self.width * (1 - margin / 2):
            return
        self.scroll_to(left_tick=tick - self.width * margin / self.px_per_tick)

    def _clamp(self) -> None:
        self.top_px = min(max(0.0, self.top_px), self.max_top)
        self.left_tick = min(max(0.0, self.left_tick), max(self.max_left_tick, 0.0))
