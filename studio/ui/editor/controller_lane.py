"""The lane under the roll, switchable between velocity and MIDI controllers.

`LaneSelector` (four small buttons in the corner under the keyboard) picks what the lane
shows: note velocities, the sustain pedal (CC64), modulation (CC1) or expression (CC11).
`ControllerLane` draws one controller of the active track as a step graph and edits it
with the mouse: a left drag draws values (the pedal is down in the upper half, up in the
lower), a right drag erases events. After a stroke the value that was in force before it
comes back, so a drag across two bars at the top is one pedal press: down, then up.
Each stroke is one undo step (`edits.SetControllerLane` inside a document gesture).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import edits
from studio.core.song import EXPRESSION, MODULATION, SUSTAIN, Controllers
from studio.ui.commands import Command
from studio.ui.document import SongDocument
from studio.ui.editor import theme
from studio.ui.editor.state import EditorState
from studio.ui.editor.velocity import LANE_HEIGHT, PAD, VelocityLane
from studio.ui.editor.viewport import RollViewport

# (button text, full name, controller number or None for velocity)
LANES: tuple[tuple[str, str, int | None], ...] = (
    ("Vel", "Velocity", None),
    ("Sus", "Sustain pedal (CC64)", SUSTAIN),
    ("Mod", "Modulation (CC1)", MODULATION),
    ("Expr", "Expression (CC11)", EXPRESSION),
)
# What a controller is before its first event (MIDI's reset values).
DEFAULT_VALUE = {SUSTAIN: 0, MODULATION: 0, EXPRESSION: 127}
SWITCHES = frozenset({SUSTAIN})  # on/off controllers: drawn as 0 or 127
PIXELS_PER_POINT = 4  # without snap, a stroke writes one event per this many pixels


def lane_name(number: int | None) -> str:
    for _, name, lane in LANES:
        if lane == number:
            return name
    return f"CC{number}"


class ControllerLane(QWidget):
    """One controller of the active track: a step graph you draw on."""

    wheelScrolled = Signal(QWheelEvent)

    def __init__(
        self,
        document: SongDocument,
        view: RollViewport,
        state: EditorState,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.view = view
        self.state = state
        self.number = SUSTAIN
        self._original: Controllers | None = None  # the lane when the stroke began
        self._stroke: dict[int, int] = {}  # tick -> value drawn in this stroke
        self._erase = False
        self._last: QPointF | None = None
        self.setMinimumHeight(48)
        self.setFixedHeight(LANE_HEIGHT)
        self.setMouseTracking(False)
        for signal in (document.changed, document.activeTrackChanged, view.changed):
            signal.connect(self.update)
        self._update_tip()

    # -- what is shown ---------------------------------------------------------------
    def set_number(self, number: int) -> None:
        if number != self.number:
            self.number = int(number)
            self._update_tip()
            self.update()

    def _update_tip(self) -> None:
        how = (
            "drag in the upper half to hold the pedal down, the lower half to lift it"
            if self.number in SWITCHES
            else "drag to draw values"
        )
        tip = f"{lane_name(self.number)}: {how}; right-drag erases. One undo step."
        if self.number == MODULATION:  # be plain about what the built-in synth plays
            tip += "\nSaved and exported to MIDI; Pianola's own synth does not play it."
        self.setToolTip(tip)

    @property
    def dragging(self) -> bool:
        return self._original is not None

    def default_value(self) -> int:
        return DEFAULT_VALUE.get(self.number, 0)

    # -- geometry ------------------------------------------------------------------------
    def _value_at(self, y: float) -> int:
        usable = max(1.0, self.height() - 2 * PAD)
        value = int(np.clip(round(127 * (self.height() - PAD - y) / usable), 0, 127))
        if self.number in SWITCHES:
            return 127 if value >= 64 else 0
        return value

    def _y_of(self, value: float) -> float:
        usable = max(1.0, self.height() - 2 * PAD)
        return self.height() - PAD - float(value) / 127 * usable

    def _step(self) -> int:
        song = self.document.song
        if self.state.snap_enabled:
            return max(1, self.state.grid_ticks(song.ticks_per_beat))
        return max(1, round(PIXELS_PER_POINT / self.view.px_per_tick))

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        w = self.width()
        p.fillRect(self.rect(), theme.VELOCITY_BG)
        p.setPen(QPen(theme.VELOCITY_GUIDE, 0))
        for level in (0, 64, 127):
            y = self._y_of(level)
            p.drawLine(QPointF(0, y), QPointF(w, y))
        track = self.document.active()
        if track is not None:
            self._paint_graph(p, track.controllers.of(self.number), QColor(track.colour))
        p.setPen(theme.RULER_TEXT)
        font = QFont(p.font())
        font.setPixelSize(10)
        p.setFont(font)
        p.drawText(QRectF(4, 2, 200, 14), lane_name(self.number))
        p.end()

    def _paint_graph(self, p: QPainter, lane: Controllers, colour: QColor) -> None:
        t0, t1 = self.view.visible_ticks()
        first = int(np.searchsorted(lane.tick, t0, side="right"))
        last = int(np.searchsorted(lane.tick, t1, side="left"))
        value = lane.value_at(self.number, t0, self.default_value())
        ticks = lane.tick[first:last].tolist()
        values = lane.value[first:last].tolist()
        path = QPainterPath()
        base = self._y_of(0)
        path.moveTo(0, base)
        path.lineTo(0, self._y_of(value))
        for tick, new in zip(ticks, values, strict=True):
            x = self.view.x_of(tick)
            path.lineTo(x, self._y_of(value))
            path.lineTo(x, self._y_of(new))
            value = new
        path.lineTo(self.width(), self._y_of(value))
        path.lineTo(self.width(), base)
        fill = QColor(colour)
        fill.setAlpha(70)
        p.fillPath(path, fill)
        p.setPen(QPen(colour, 1.5))
        p.drawPath(path)
        if len(ticks) <= self.width() / 6:  # handles only where they have room
            p.setBrush(colour)
            for tick, new in zip(ticks, values, strict=True):
                p.drawRect(QRectF(self.view.x_of(tick) - 2, self._y_of(new) - 2, 4, 4))

    # -- editing -------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        track = self.document.active()
        if track is None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        self._erase = button == Qt.MouseButton.RightButton
        verb = "Erase" if self._erase else "Draw"
        self.document.begin_gesture(f"{verb} {lane_name(self.number).split(' (')[0].lower()}")
        self._original = track.controllers.of(self.number)
        self._stroke = {}
        self._last = event.position()
        self._add_points(event.position(), event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._original is None or self._last is None:
            return
        self._add_points(self._last, event.position())
        self._last = event.position()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._original is None:
            return
        self._original = None
        self._stroke = {}
        self._last = None
        self.document.end_gesture()

    def _add_points(self, a: QPointF, b: QPointF) -> None:
        """Add the grid points between two mouse positions to the stroke and apply it."""
        step = self._step()
        tick_a = max(0, int(self.view.tick_at(a.x())) // step * step)
        tick_b = max(0, int(self.view.tick_at(b.x())) // step * step)
        lo, hi = min(tick_a, tick_b), max(tick_a, tick_b)
        for tick in range(lo, hi + 1, step):
            share = 0.0 if tick_a == tick_b else (tick - tick_a) / (tick_b - tick_a)
            self._stroke[tick] = self._value_at(a.y() + (b.y() - a.y()) * share)
        self._apply_stroke(step)

    def _apply_stroke(self, step: int) -> None:
        original = self._original
        if original is None or not self._stroke:
            return
        number = self.number
        ticks = sorted(self._stroke)
        lo, end = ticks[0], ticks[-1] + step
        kept = original.without(number, lo, end)
        if self._erase:
            lane = kept
        else:
            # Only changes are events: a pedal held across two bars is one "down".
            value = self.default_value()
            if lo:
                value = original.value_at(number, lo - 1, value)
            new_ticks: list[int] = []
            new_values: list[int] = []
            for tick in ticks:
                if self._stroke[tick] != value:
                    value = self._stroke[tick]
                    new_ticks.append(tick)
                    new_values.append(value)
            # After the stroke, what was in force before it comes back.
            after = original.value_at(number, end, self.default_value())
            has_event_at_end = bool(np.any(original.tick == end))
            if after != value and not has_event_at_end:
                new_ticks.append(end)
                new_values.append(after)
            lane = kept.with_events(Controllers(new_ticks, [number] * len(new_ticks), new_values))
        track = self.document.active()
        if track is not None and track.controllers.of(number) == lane:
            return  # nothing changes (the pedal was already up there): no empty undo step
        self.document.push(edits.SetControllerLane(self.document.active_track, number, lane))

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.wheelScrolled.emit(event)
        event.accept()


class LaneStack(QStackedWidget):
    """The lane area: the velocity lane or the controller lane."""

    laneChanged = Signal(object)  # int controller number, or None for velocity

    def __init__(
        self, velocity: VelocityLane, controllers: ControllerLane, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.velocity = velocity
        self.controllers = controllers
        self.addWidget(velocity)
        self.addWidget(controllers)
        self.setFixedHeight(LANE_HEIGHT)
        self.number: int | None = None

    def show_lane(self, number: int | None) -> None:
        """Show velocities (None) or the controller ``number``."""
        if number is None:
            self.setCurrentWidget(self.velocity)
        else:
            self.controllers.set_number(number)
            self.setCurrentWidget(self.controllers)
        if number != self.number:
            self.number = number
            self.laneChanged.emit(number)


class LaneSelector(QWidget):
    """Four stacked buttons beside the lane: Vel / Sus / Mod / Expr."""

    def __init__(self, stack: LaneStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stack = stack
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, theme.VELOCITY_BG)
        self.setPalette(palette)
        text = theme.RULER_TEXT.name()
        self.setStyleSheet(
            f"QToolButton {{ color: {text}; border: none; border-radius: 3px; font-size: 10px; }}"
            "QToolButton:hover { background: #262b33; }"
            "QToolButton:checked { background: #34404f; color: white; }"
        )
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[int | None, QToolButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(1)
        for text, name, number in LANES:
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(f"Show {name} in the lane")
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            button.clicked.connect(lambda _c=False, n=number: stack.show_lane(n))
            self.group.addButton(button)
            layout.addWidget(button)
            self.buttons[number] = button
        self.buttons[None].setChecked(True)
        stack.laneChanged.connect(self._sync)

    def _sync(self, number: int | None) -> None:
        self.buttons[number].setChecked(True)


class HasLanes(Protocol):
    @property
    def document(self) -> SongDocument: ...

    lanes: LaneStack


def lane_commands() -> tuple[Command[HasLanes], ...]:
    """View ▸ Velocity Lane / Sustain Pedal Lane / ...: the same switch as the buttons."""
    return tuple(
        Command(
            f"view.lane.{text.lower()}",
            f"{name.split(' (')[0].title()} Lane",
            "view",
            lambda doc, editor, n=number: editor.lanes.show_lane(n),
            tip=f"Show {name} in the lane under the roll",
            section="lanes",
            checkable=True,
            checked=lambda editor, n=number: editor.lanes.number == n,
        )
        for text, name, number in LANES
    )
