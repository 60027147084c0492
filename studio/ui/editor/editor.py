"""The piano-roll editor: track list, tool bar, ruler, keyboard, notes and velocity lane."""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QWheelEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QScrollBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.quantize import snap_down
from studio.ui.commands import CommandRegistry
from studio.ui.document import SongDocument
from studio.ui.editor import theme
from studio.ui.editor.actions import EDITOR_COMMANDS
from studio.ui.editor.canvas import NoteCanvas
from studio.ui.editor.controller_lane import (
    ControllerLane,
    LaneSelector,
    LaneStack,
    lane_commands,
)
from studio.ui.editor.dialogs import HumanizeDialog, QuantizeDialog, ScaleVelocityDialog
from studio.ui.editor.keyboard import KeyboardColumn
from studio.ui.editor.ruler import Ruler
from studio.ui.editor.state import EditorState
from studio.ui.editor.toolbar import EditorToolBar
from studio.ui.editor.tracks import TrackList
from studio.ui.editor.velocity import VelocityLane
from studio.ui.editor.viewport import RollViewport

SMOOTH_STEP = 0.35  # fraction of the remaining scroll distance covered per frame
EXTRA_BARS = 16  # room to keep writing after the song's end


class SmoothScroller:
    """Glides the viewport toward a target instead of jumping a wheel notch at once."""

    def __init__(self, view: RollViewport) -> None:
        self.view = view
        self.target: tuple[float, float] | None = None
        self.timer = QTimer()
        self.timer.setInterval(16)
        self.timer.timeout.connect(self._step)

    def scroll_by(self, dx_px: float, dy_px: float) -> None:
        view = self.view
        left, top = self.target or (view.left_tick, view.top_px)
        left = min(max(0.0, left + dx_px / view.px_per_tick), view.max_left_tick)
        top = min(max(0.0, top + dy_px), view.max_top)
        self.target = (left, top)
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.target = None

    def finish(self) -> None:
        """Jump to the target now (tests, and before zooming)."""
        if self.target is not None:
            self.view.scroll_to(*self.target)
        self.stop()

    def _step(self) -> None:
        if self.target is None:
            self.timer.stop()
            return
        view = self.view
        left, top = self.target
        dx = (left - view.left_tick) * view.px_per_tick
        dy = top - view.top_px
        if abs(dx) < 0.5 and abs(dy) < 0.5:
            self.finish()
            return
        view.scroll_to(
            view.left_tick + dx * SMOOTH_STEP / view.px_per_tick, view.top_px + dy * SMOOTH_STEP
        )


class PianoRollEditor(QWidget):
    """Multi-track note editor bound to a SongDocument."""

    def __init__(
        self,
        document: SongDocument,
        parent: QWidget | None = None,
        commands: CommandRegistry | None = None,
    ) -> None:
        """``commands``: the window's registry; a bare editor (tests) keeps its own."""
        super().__init__(parent)
        self.document = document
        self.state = EditorState(self)
        self.view = RollViewport(document.song.ticks_per_beat, self)
        self.scroller = SmoothScroller(self.view)
        self.commands = commands if commands is not None else CommandRegistry(self)
        self.actions_by_id: dict[str, QAction] = {}
        self._build_actions()

        self.toolbar = EditorToolBar(self.state, self.actions_by_id, self)
        self.track_list = TrackList(document, self)
        self.ruler = Ruler(document, self.state, self.view, self)
        self.keyboard = KeyboardColumn(document, self.view, self.state, self)
        self.canvas = NoteCanvas(document, self.state, self.view, self)
        self.velocity = VelocityLane(document, self.view, self)
        self.controller_lane = ControllerLane(document, self.view, self.state, self)
        self.hscroll = QScrollBar(Qt.Orientation.Horizontal, self)
        self.vscroll = QScrollBar(Qt.Orientation.Vertical, self)

        roll = QWidget(self)
        grid = QGridLayout(roll)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        corner = QWidget(roll)
        corner.setFixedHeight(self.ruler.height())
        corner.setStyleSheet(f"background: {theme.RULER_BG.name()};")
        grid.addWidget(corner, 0, 0)
        grid.addWidget(self.ruler, 0, 1)
        grid.addWidget(self.keyboard, 1, 0)
        grid.addWidget(self.canvas, 1, 1)
        grid.addWidget(self.vscroll, 1, 2)
        # The lane under the roll: velocity or a controller, picked beside it.
        self.lanes = LaneStack(self.velocity, self.controller_lane, roll)
        self.lane_selector = LaneSelector(self.lanes, roll)
        self.commands.add(*lane_commands(), context=self)
        grid.addWidget(self.lane_selector, 2, 0)
        grid.addWidget(self.lanes, 2, 1)
        grid.addWidget(self.hscroll, 3, 1)
        grid.setRowStretch(1, 1)
        grid.setColumnStretch(1, 1)

        self.roll = roll

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.track_list)
        splitter.addWidget(roll)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(splitter, 1)

        for widget in (self.canvas, self.keyboard, self.velocity, self.controller_lane):
            widget.wheelScrolled.connect(self.handle_wheel)
        self.canvas.hoverPitchChanged.connect(self.keyboard.set_hovered)
        self.view.changed.connect(self._sync_scrollbars)
        self.hscroll.valueChanged.connect(self._hscroll_moved)
        self.vscroll.valueChanged.connect(self._vscroll_moved)
        document.changed.connect(self._update_extent)
        document.tracksChanged.connect(self._song_structure_changed)
        document.songReplaced.connect(self._song_replaced)
        self.state.toolChanged.connect(self._sync_checks)
        self.state.snapChanged.connect(self._sync_checks)
        self.state.ghostsChanged.connect(self._sync_checks)
        self._sync_checks()
        self._update_extent()

    # -- actions -------------------------------------------------------------------------
    def _build_actions(self) -> None:
        self.commands.add(*EDITOR_COMMANDS, context=self)
        self.actions_by_id = {c.id: self.commands.action(c.id) for c in EDITOR_COMMANDS}
        tools = QActionGroup(self)
        tools.setExclusive(True)
        for name in ("draw", "select", "erase"):
            tools.addAction(self.actions_by_id[f"tools.{name}"])
        stack = self.document.undo_stack
        self._undo_state_changed()
        # Bound methods (not lambdas): Qt drops the connection when the editor is deleted,
        # even if the document lives on.
        stack.canUndoChanged.connect(self._undo_state_changed)
        stack.canRedoChanged.connect(self._undo_state_changed)
        stack.undoTextChanged.connect(self._undo_state_changed)
        stack.redoTextChanged.connect(self._undo_state_changed)

    def _undo_state_changed(self, *_args: object) -> None:
        stack = self.document.undo_stack
        if not shiboken6.isValid(stack):  # the document is being torn down
            return
        undo, redo = self.actions_by_id["edit.undo"], self.actions_by_id["edit.redo"]
        undo.setEnabled(stack.canUndo())
        redo.setEnabled(stack.canRedo())
        undo.setText(f"Undo {stack.undoText()}" if stack.undoText() else "Undo")
        redo.setText(f"Redo {stack.redoText()}" if stack.redoText() else "Redo")

    def _sync_checks(self) -> None:
        for name in ("draw", "select", "erase"):
            self.actions_by_id[f"tools.{name}"].setChecked(self.state.tool == name)
        self.actions_by_id["tools.snap"].setChecked(self.state.snap_enabled)
        self.actions_by_id["view.ghost_notes"].setChecked(self.state.show_ghosts)

    def action(self, action_id: str) -> QAction:
        return self.actions_by_id[action_id]

    # -- context used by action callbacks --------------------------------------------------
    def grid_ticks(self) -> int:
        return self.state.grid_ticks(self.document.song.ticks_per_beat)

    def paste_tick(self) -> int:
        """Paste at the mouse when it is over the notes, else at the playhead."""
        tick = self.canvas.hover_tick()
        if tick is None:
            return self.document.playhead
        return snap_down(tick, self.grid_ticks()) if self.state.snap_enabled else tick

    def ask_quantize(self) -> tuple[int, float, bool, bool] | None:
        dialog = QuantizeDialog(self.state.snap, self.document.song.ticks_per_beat, self)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_humanize(self) -> tuple[int, int, int] | None:
        dialog = HumanizeDialog(self.document.song.ticks_per_beat, self)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_scale_velocity(self) -> tuple[float, int] | None:
        dialog = ScaleVelocityDialog(self)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None

    # -- view ------------------------------------------------------------------------------
    @property
    def user_is_dragging(self) -> bool:
        """True while the composer drags in the editor (playback must not scroll away)."""
        return (
            self.canvas.drag is not None
            or self.ruler._press_tick is not None
            or self.velocity._last_x is not None
            or self.velocity._scale_from is not None
            or self.controller_lane.dragging
            or self.hscroll.isSliderDown()
            or self.vscroll.isSliderDown()
        )

    def ensure_tick_visible(self, tick: int) -> None:
        self._update_extent(min_tick=tick)
        self.view.ensure_tick_visible(tick)

    def zoom_to_fit(self) -> None:
        song = self.document.song
        tracks = [t for t in song.tracks if len(t.notes)]
        if not tracks:
            self.view.fit(0, song.ticks_per_bar(0) * 4, 48, 84)
            return
        low = min(int(t.notes.pitch.min()) for t in tracks)
        high = max(int(t.notes.pitch.max()) for t in tracks)
        self.scroller.stop()
        self.view.fit(0, song.end_tick, low, high)

    def zoom_to_selection(self) -> None:
        doc = self.document
        notes = doc.active_notes()
        rows = notes.indices_of_ids(doc.selection)
        if not len(rows):
            self.zoom_to_fit()
            return
        start = int(notes.start[rows].min())
        end = int((notes.start[rows] + notes.duration[rows]).max())
        self.scroller.stop()
        self.view.fit(start, end, int(notes.pitch[rows].min()), int(notes.pitch[rows].max()))

    def handle_wheel(self, event: QWheelEvent) -> None:
        """Ctrl+wheel zooms time, Shift+wheel zooms pitch rows, Alt+wheel scrolls time."""
        mods = event.modifiers()
        angle = event.angleDelta()
        pixels = event.pixelDelta()
        notches_y = angle.y() / 120.0
        notches_x = angle.x() / 120.0
        anchor: QPointF = self.canvas.mapFromGlobal(event.globalPosition().toPoint()).toPointF()
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.scroller.finish()
            self.view.zoom_x(1.2 ** (notches_y or notches_x), anchor.x())
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            self.scroller.finish()
            self.view.zoom_y(1.15 ** (notches_y or notches_x), anchor.y())
        elif mods & Qt.KeyboardModifier.AltModifier:
            # Qt reports Alt+wheel as horizontal on some platforms: use whichever moved.
            amount = notches_y or notches_x
            self.scroller.scroll_by(-amount * 120, 0)
        elif not pixels.isNull():  # touchpads: follow the fingers exactly
            self.scroller.stop()
            self.view.scroll_by(-pixels.x(), -pixels.y())
        else:
            self.scroller.scroll_by(-notches_x * 120, -notches_y * 3 * self.view.row_height)

    def _update_extent(self, min_tick: int = 0) -> None:
        song = self.document.song
        end = max(song.end_tick, self.document.playhead, int(min_tick))
        self.view.set_scroll_end(end + EXTRA_BARS * song.ticks_per_bar(end))
        self._sync_scrollbars()

    def _song_replaced(self) -> None:
        self._song_structure_changed()
        self.zoom_to_fit()

    def _song_structure_changed(self, *_args: object) -> None:
        self.view.set_ticks_per_beat(self.document.song.ticks_per_beat)
        self._update_extent()

    def _sync_scrollbars(self) -> None:
        view = self.view
        for bar, maximum, page, value in (
            (
                self.hscroll,
                view.max_left_tick * view.px_per_tick,
                view.width,
                view.left_tick * view.px_per_tick,
            ),
            (self.vscroll, view.max_top, view.height, view.top_px),
        ):
            bar.blockSignals(True)
            bar.setRange(0, int(np.ceil(maximum)))
            bar.setPageStep(max(1, int(page)))
            bar.setSingleStep(max(1, int(page // 20)))
            bar.setValue(round(value))
            bar.blockSignals(False)

    def _hscroll_moved(self, value: int) -> None:
        self.scroller.stop()
        self.view.scroll_to(left_tick=value / self.view.px_per_tick)

    def _vscroll_moved(self, value: int) -> None:
        self.scroller.stop()
        self.view.scroll_to(top_px=float(value))
