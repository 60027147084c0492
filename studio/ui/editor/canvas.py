"""The note area: a cached grid and notes, overlays for playhead/loop/rubber band, tools.

Painting follows Qtractor: the grid and the notes are rendered into a viewport-sized
pixmap that is reused until the song, the selection or the view changes. The playhead,
loop region and rubber band are overlays drawn on top in every paint event, so moving
the playhead only repaints two thin strips from the cache (`render_count` counts the
expensive renders; tests check that it does not move with the playhead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from studio.core import edits
from studio.core.quantize import snap_down, snap_nearest
from studio.core.scales import scale_mask
from studio.core.song import Notes
from studio.ui.document import SongDocument
from studio.ui.editor import theme
from studio.ui.editor.grid import bar_ticks, beat_ticks, step_ticks
from studio.ui.editor.note_painter import Layer, paint_layers
from studio.ui.editor.state import EditorState
from studio.ui.editor.viewport import RollViewport

EDGE_PX = 5  # how close to a note's edge the mouse must be to resize it
DRAG_THRESHOLD_PX = 3


@dataclass
class Drag:
    """What the current mouse gesture is doing and where it started."""

    kind: str  # move | resize_start | resize_end | draw | rubber | erase
    press: QPointF
    press_tick: float
    press_pitch: int
    track: int = 0
    originals: Notes | None = None  # the dragged notes as they were at the press
    anchor: int = -1  # id of the note under the mouse at the press
    started: bool = False
    toggle_off: int | None = None  # shift-click on a selected note deselects on release
    select_only: int | None = None  # a plain click in a selection keeps just that note
    additive: bool = False  # shift rubber band adds to the selection
    last_pos: QPointF | None = None
    last_pitch: int | None = None


class NoteCanvas(QWidget):
    """Paints and edits the notes of the active track; other tracks appear as ghosts."""

    wheelScrolled = Signal(QWheelEvent)
    hoverPitchChanged = Signal(object)  # pitch under the mouse, or None when it leaves

    def __init__(
        self,
        document: SongDocument,
        state: EditorState,
        view: RollViewport,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.state = state
        self.view = view
        self.render_count = 0
        self.drag: Drag | None = None
        self._content: QPixmap | None = None
        self._background: QPixmap | None = None
        self._background_key: tuple | None = None
        self._rubber: QRectF | None = None
        self._hover: QPointF | None = None
        self._hover_note: int | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(120, 80)
        for signal in (
            document.changed,
            document.selectionChanged,
            document.activeTrackChanged,
            document.tracksChanged,
            view.changed,
            state.ghostsChanged,
        ):
            signal.connect(self.invalidate)
        state.scaleChanged.connect(self.invalidate_background)
        state.snapChanged.connect(self.invalidate_background)
        state.toolChanged.connect(lambda _tool: self._update_cursor(self._hover))
        document.playheadChanged.connect(self._playhead_moved)
        document.loopChanged.connect(self.update)
        self._playhead_x = self._x_of_playhead()

    # -- cache management ----------------------------------------------------------------
    def invalidate(self) -> None:
        self._content = None
        self._playhead_x = self._x_of_playhead()
        self.update()

    def invalidate_background(self) -> None:
        self._background_key = None
        self.invalidate()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.view.set_size(self.width(), self.height())
        self.invalidate()
        super().resizeEvent(event)

    def _dpr(self) -> float:
        return float(self.devicePixelRatioF())

    def _new_pixmap(self) -> QPixmap:
        dpr = self._dpr()
        pixmap = QPixmap(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr)))
        pixmap.setDevicePixelRatio(dpr)
        return pixmap

    def _render_background(self) -> QPixmap:
        view, song = self.view, self.document.song
        key = (
            view.left_tick,
            view.top_px,
            view.px_per_beat,
            view.row_height,
            self.width(),
            self.height(),
            self._dpr(),
            self.state.scale_key,
            self.state.scale_name,
            self.state.snap,
            tuple(song.time_signatures),
            song.ticks_per_beat,
        )
        if self._background is not None and key == self._background_key:
            return self._background
        pixmap = self._new_pixmap()
        painter = QPainter(pixmap)
        self._paint_grid(painter)
        painter.end()
        self._background, self._background_key = pixmap, key
        return pixmap

    def _paint_grid(self, p: QPainter) -> None:
        view, song = self.view, self.document.song
        w, h = self.width(), self.height()
        p.fillRect(0, 0, w, h, theme.BLACK_ROW)
        low, high = view.visible_pitches()
        rh = view.row_height
        in_scale = scale_mask(self.state.scale_key, self.state.scale_name)
        groups: dict[int, list[QRectF]] = {0: [], 1: [], 2: []}
        for pitch in range(low, high + 1):
            kind = 2 if not in_scale[pitch] else (1 if theme.is_black(pitch) else 0)
            groups[kind].append(QRectF(0, view.y_of(pitch), w, rh))
        p.setPen(Qt.PenStyle.NoPen)
        for kind, colour in (
            (0, theme.WHITE_ROW),
            (1, theme.BLACK_ROW),
            (2, theme.OUT_OF_SCALE_ROW),
        ):
            if groups[kind]:
                p.setBrush(colour)
                p.drawRects(groups[kind])
        # Row separators as one-pixel rectangles (Qt's fast solid-fill path).
        p.setPen(Qt.PenStyle.NoPen)
        for colour, wanted in ((theme.ROW_LINE, rh >= 5), (theme.OCTAVE_LINE, True)):
            octave = colour is theme.OCTAVE_LINE
            if not wanted:
                continue
            p.setBrush(colour)
            p.drawRects(
                [
                    QRect(0, int(view.y_of(pitch) + rh - 1), w, 1)
                    for pitch in range(low, high + 1)
                    if (pitch % 12 == 0) == octave
                ]
            )
        t0, t1 = view.visible_ticks()
        tpb = song.ticks_per_beat
        grid = self.state.grid_ticks(tpb)
        beat_px = view.px_per_beat
        if grid * view.px_per_tick >= 7:
            self._vertical_lines(p, step_ticks(song, t0, t1, grid), theme.SNAP_LINE, h)
        if beat_px >= 5:
            self._vertical_lines(p, beat_ticks(song, t0, t1), theme.BEAT_LINE, h)
        bars = bar_ticks(song, t0, t1)
        bar_px = song.ticks_per_bar(t0) * view.px_per_tick
        if bar_px < 4:  # very far out: one line every few bars keeps the grid readable
            every = int(np.ceil(4 / max(bar_px, 1e-6)))
            bars = bars[:: max(1, every)]
        self._vertical_lines(p, bars, theme.BAR_LINE, h)

    def _vertical_lines(self, p: QPainter, ticks: np.ndarray, colour: QColor, h: int) -> None:
        if not len(ticks):
            return
        p.setPen(QPen(colour, 0))
        xs = np.floor((ticks - self.view.left_tick) * self.view.px_per_tick).astype(np.int64)
        # One-pixel solid rectangles take Qt's fast fill path (pen lines are much slower).
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawRects([QRect(x, 0, 1, h) for x in xs.tolist()])

    def _render_content(self) -> QPixmap:
        """The expensive layer: grid plus ghost and active notes."""
        self.render_count += 1
        pixmap = self._new_pixmap()
        painter = QPainter(pixmap)
        painter.drawPixmap(0, 0, self._render_background())
        doc, view = self.document, self.view
        t0, t1 = view.visible_ticks()
        layers: list[Layer] = []
        if self.state.show_ghosts:
            for index, track in enumerate(doc.song.tracks):
                if index != doc.active_track:
                    rows = self._rows_in_pitch_view(
                        track.notes, track.notes.indices_in_range(t0, t1)
                    )
                    layers.append(Layer(track.notes, rows, QColor(track.colour), ghost=True))
        active = doc.active()
        if active is not None:
            notes = active.notes
            rows = self._rows_in_pitch_view(notes, notes.indices_in_range(t0, t1))
            selected = np.isin(notes.ids[rows], doc.selection) if len(doc.selection) else None
            layers.append(Layer(notes, rows, QColor(active.colour), selected=selected))
        paint_layers(painter, view, layers, self._dpr())
        painter.end()
        return pixmap

    def _rows_in_pitch_view(self, notes: Notes, rows: np.ndarray) -> np.ndarray:
        low, high = self.view.visible_pitches()
        pitch = notes.pitch[rows]
        return rows[(pitch >= low) & (pitch <= high)]

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        if self._content is None or self._content.devicePixelRatio() != self._dpr():
            self._content = self._render_content()
        painter = QPainter(self)
        rect = event.rect()
        dpr = self._content.devicePixelRatio()
        source = QRectF(rect.x() * dpr, rect.y() * dpr, rect.width() * dpr, rect.height() * dpr)
        painter.drawPixmap(QRectF(rect), self._content, source)
        painter.setClipRect(rect)
        self._paint_overlays(painter)
        painter.end()

    def _paint_overlays(self, p: QPainter) -> None:
        h = self.height()
        loop = self.document.loop
        if loop is not None:
            x0, x1 = self.view.x_of(loop[0]), self.view.x_of(loop[1])
            p.fillRect(QRectF(x0, 0, x1 - x0, h), theme.LOOP_FILL)
            p.setPen(QPen(theme.LOOP_EDGE, 0))
            p.drawLine(QPointF(x0 + 0.5, 0), QPointF(x0 + 0.5, h))
            p.drawLine(QPointF(x1 - 0.5, 0), QPointF(x1 - 0.5, h))
        if self._rubber is not None:
            p.setPen(QPen(theme.RUBBER_EDGE, 0))
            p.setBrush(theme.RUBBER_FILL)
            p.drawRect(self._rubber.normalized())
        if self._hover_note is not None and self.drag is None:
            rect = self.note_rect(self._hover_note)
            if rect is not None:
                p.setPen(QPen(theme.HOVER_OUTLINE, 1))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        x = self._playhead_x
        if -2 <= x <= self.width() + 2:
            p.setPen(QPen(theme.PLAYHEAD, 1.5))
            p.drawLine(QPointF(x, 0), QPointF(x, h))

    def _x_of_playhead(self) -> float:
        return round(self.view.x_of(self.document.playhead)) + 0.5

    def _playhead_moved(self, _tick: int) -> None:
        old, new = self._playhead_x, self._x_of_playhead()
        if old == new:
            return
        self._playhead_x = new
        h = self.height()
        self.update(QRect(int(old) - 2, 0, 5, h))
        self.update(QRect(int(new) - 2, 0, 5, h))

    # -- hit testing -------------------------------------------------------------------
    def note_at(self, pos: QPointF) -> tuple[int, str] | None:
        """(note id, part) of the active track's note under `pos`; part is body/start/end."""
        notes = self.document.active_notes()
        if not len(notes):
            return None
        view = self.view
        pitch = view.pitch_at(pos.y())
        tick = view.tick_at(pos.x())
        slack = 2 / view.px_per_tick  # a couple of pixels, so tiny notes can be grabbed
        rows = notes.indices_in_range(int(np.floor(tick - slack)), int(np.ceil(tick + slack)) + 1)
        rows = rows[notes.pitch[rows] == pitch]
        if not len(rows):
            return None
        row = int(rows[-1])  # the latest-starting note is drawn on top
        x0 = view.x_of(int(notes.start[row]))
        x1 = view.x_of(int(notes.start[row] + notes.duration[row]))
        note_id = int(notes.ids[row])
        if x1 - x0 >= 3 * EDGE_PX:
            if pos.x() - x0 <= EDGE_PX:
                return note_id, "start"
            if x1 - pos.x() <= EDGE_PX:
                return note_id, "end"
        elif pos.x() >= x1 - 2:
            return note_id, "end"
        return note_id, "body"

    def ids_in_rect(self, rect: QRectF) -> np.ndarray:
        rect = rect.normalized()
        view = self.view
        notes = self.document.active_notes()
        t0, t1 = view.tick_at(rect.left()), view.tick_at(rect.right())
        rows = notes.indices_in_range(int(np.floor(t0)), int(np.ceil(t1)) + 1)
        hi, lo = view.pitch_at(rect.top()), view.pitch_at(rect.bottom())
        pitch = notes.pitch[rows]
        return notes.ids[rows[(pitch >= lo) & (pitch <= hi)]]

    # -- snapping ------------------------------------------------------------------------
    def _snapping(self, modifiers: Qt.KeyboardModifier) -> bool:
        return self.state.snap_enabled and not (modifiers & Qt.KeyboardModifier.AltModifier)

    def _grid(self) -> int:
        return self.state.grid_ticks(self.document.song.ticks_per_beat)

    def hover_tick(self) -> int | None:
        """The tick under the mouse (for paste at mouse), or None when it is elsewhere."""
        if self._hover is None or not self.rect().contains(self._hover.toPoint()):
            return None
        return max(0, int(self.view.tick_at(self._hover.x())))

    # -- mouse ---------------------------------------------------------------------------
    def _effective_tool(self, modifiers: Qt.KeyboardModifier) -> str:
        if self.state.tool == "draw" and modifiers & Qt.KeyboardModifier.ControlModifier:
            return "select"  # Ctrl temporarily selects, as in FL Studio and Ableton
        return self.state.tool

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        doc = self.document
        if doc.active() is None:
            return
        pos = event.position()
        mods = event.modifiers()
        tool = self._effective_tool(mods)
        drag = Drag(
            "rubber",
            pos,
            self.view.tick_at(pos.x()),
            self.view.pitch_at(pos.y()),
            track=doc.active_track,
            last_pos=pos,
        )
        if event.button() == Qt.MouseButton.RightButton and tool != "erase":
            tool = "erase"  # right-drag erases in draw and select modes (FL Studio habit)
        elif event.button() != Qt.MouseButton.LeftButton:
            return
        if tool == "erase":
            drag.kind = "erase"
            doc.begin_gesture("Erase notes")
            self.drag = drag
            self._erase_along(pos, pos)
            return
        hit = self.note_at(pos)
        if hit is not None:
            note_id, part = hit
            selection = doc.selection
            if mods & Qt.KeyboardModifier.ShiftModifier and tool == "select":
                if note_id in selection:
                    drag.toggle_off = note_id
                else:
                    doc.set_selection(np.append(selection, note_id))
            elif note_id not in selection:
                doc.set_selection([note_id])
            elif len(selection) > 1 and not mods & (
                Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier
            ):
                # As in DAWs: the drag moves the whole selection, but a click without a
                # drag narrows the selection to this note (decided on release).
                drag.select_only = note_id
            notes = doc.active_notes()
            drag.kind = {"body": "move", "start": "resize_start", "end": "resize_end"}[part]
            drag.anchor = note_id
            drag.originals = notes.take(notes.indices_of_ids(doc.selection))
            drag.last_pitch = drag.press_pitch
            doc.begin_gesture({"move": "Move notes"}.get(drag.kind, "Resize notes"))
            row = notes.indices_of_ids([note_id])
            if len(row):
                doc.request_preview(int(notes.pitch[row[0]]), int(notes.velocity[row[0]]))
            self.drag = drag
            return
        if tool == "draw":
            self._start_draw(drag, mods)
            return
        drag.kind = "rubber"
        drag.additive = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if not drag.additive:
            doc.select_none()
        self.drag = drag

    def _start_draw(self, drag: Drag, mods: Qt.KeyboardModifier) -> None:
        doc = self.document
        pitch = drag.press_pitch
        if not 0 <= pitch <= 127:
            return
        tpb = doc.song.ticks_per_beat
        grid = self._grid()
        tick = max(0, int(drag.press_tick))
        start = snap_down(tick, grid) if self._snapping(mods) else tick
        length = max(1, round(self.state.last_length_beats * tpb))
        doc.begin_gesture("Draw note")
        doc.push(edits.AddNotes(doc.active_track, Notes([pitch], [start], [length], [100])))
        new_id = int(doc.selection[0]) if len(doc.selection) else -1
        notes = doc.active_notes()
        drag.kind = "draw"
        drag.anchor = new_id
        drag.originals = notes.take(notes.indices_of_ids([new_id]))
        doc.request_preview(pitch, 100)
        self.drag = drag

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._hover = pos
        pitch = self.view.pitch_at(pos.y())
        self.hoverPitchChanged.emit(pitch if 0 <= pitch <= 127 else None)
        drag = self.drag
        if drag is None:
            self._update_cursor(pos)
            return
        if not drag.started:
            moved = (pos - drag.press).manhattanLength()
            if drag.kind == "draw":
                # Only a horizontal drag sets the drawn note's length: a hand that slips
                # up or down must not change it (nor the length of the next note).
                moved = abs(pos.x() - drag.press.x())
            if moved < DRAG_THRESHOLD_PX and drag.kind != "erase":
                return
            drag.started = True
        mods = event.modifiers()
        if drag.kind == "erase":
            self._erase_along(drag.last_pos or pos, pos)
        elif drag.kind == "rubber":
            old = self._rubber
            self._rubber = QRectF(drag.press, pos)
            region = self._rubber.normalized().toAlignedRect().adjusted(-2, -2, 2, 2)
            if old is not None:
                region = region.united(old.normalized().toAlignedRect().adjusted(-2, -2, 2, 2))
            self.update(region)
        elif drag.kind == "move":
            self._drag_move(drag, pos, mods)
        elif drag.kind in ("resize_end", "draw"):
            self._drag_resize_end(drag, pos, mods)
        elif drag.kind == "resize_start":
            self._drag_resize_start(drag, pos, mods)
        drag.last_pos = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag = self.drag
        if drag is None:
            return
        self.drag = None
        doc = self.document
        if drag.kind == "rubber":
            if self._rubber is not None:
                ids = self.ids_in_rect(self._rubber)
                if drag.additive:
                    ids = np.union1d(doc.selection, ids)
                doc.set_selection(ids)
            self._rubber = None
            self.update()
        elif drag.toggle_off is not None and not drag.started:
            doc.set_selection(doc.selection[doc.selection != drag.toggle_off])
        elif drag.select_only is not None and not drag.started:
            doc.set_selection([drag.select_only])
        if drag.kind in ("draw", "resize_end", "resize_start") and drag.anchor >= 0:
            notes = doc.active_notes()
            row = notes.indices_of_ids([drag.anchor])
            if len(row) and (drag.started or drag.kind != "draw"):
                # The next drawn note gets the length the composer last chose.
                self.state.last_length_beats = int(notes.duration[row[0]]) / doc.song.ticks_per_beat
        doc.end_gesture()

    def _target_push(self, drag: Drag, target: Notes) -> None:
        """Replace the dragged notes by `target` (computed from the originals)."""
        doc = self.document
        if drag.track >= len(doc.song.tracks):
            self._abandon_drag()
            return
        notes = doc.song.tracks[drag.track].notes
        current = notes.take(notes.indices_of_ids(target.ids))
        if len(current) != len(target):  # e.g. an undo removed them mid-drag
            self._abandon_drag()
            return
        if current == target:
            return
        doc.push(edits.SetNotes(drag.track, target.ids, target))

    def _abandon_drag(self) -> None:
        self.drag = None
        self._rubber = None
        self.document.end_gesture()
        self.update()

    def _drag_move(self, drag: Drag, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        originals = drag.originals
        if originals is None or not len(originals):
            return
        view = self.view
        raw_dt = view.tick_at(pos.x()) - drag.press_tick
        dp = view.pitch_at(pos.y()) - drag.press_pitch
        if mods & Qt.KeyboardModifier.ShiftModifier:  # constrain to the dominant axis
            if abs(pos.x() - drag.press.x()) >= abs(pos.y() - drag.press.y()):
                dp = 0
            else:
                raw_dt = 0.0
        anchor_row = originals.indices_of_ids([drag.anchor])
        anchor_start = int(originals.start[anchor_row[0]]) if len(anchor_row) else 0
        if self._snapping(mods) and raw_dt != 0.0:
            dt = snap_nearest(round(anchor_start + raw_dt), self._grid()) - anchor_start
        else:
            dt = round(raw_dt)
        dt = max(dt, -int(originals.start.min()))
        low = -int(originals.pitch.min())
        high = 127 - int(originals.pitch.max())
        dp = min(max(dp, low), high)
        target = originals.replaced(
            start=originals.start + dt, pitch=originals.pitch.astype(np.int64) + dp
        )
        self._target_push(drag, target)
        anchor_pitch = view.pitch_at(pos.y())
        if dp and anchor_pitch != drag.last_pitch and len(anchor_row):
            drag.last_pitch = anchor_pitch
            self.document.request_preview(
                int(originals.pitch[anchor_row[0]]) + dp, int(originals.velocity[anchor_row[0]])
            )

    @staticmethod
    def _resize_anchor(drag: Drag) -> tuple[Notes, int, int] | None:
        """The dragged notes and the start and end of the one grabbed (None: nothing to do)."""
        originals = drag.originals
        if originals is None or not len(originals):
            return None
        row = originals.indices_of_ids([drag.anchor])
        if not len(row):
            return None
        start = int(originals.start[row[0]])
        return originals, start, start + int(originals.duration[row[0]])

    def _drag_resize_end(self, drag: Drag, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        anchor = self._resize_anchor(drag)
        if anchor is None:
            return
        originals, anchor_start, anchor_end = anchor
        tick = self.view.tick_at(pos.x())
        if drag.kind == "resize_end":
            tick = anchor_end + (tick - drag.press_tick)
        grid = self._grid()
        snapping = self._snapping(mods)
        new_end = snap_nearest(round(tick), grid) if snapping else round(tick)
        minimum = grid if snapping else 1
        new_end = max(new_end, anchor_start + minimum)
        delta = new_end - anchor_end
        target = originals.replaced(duration=np.maximum(1, originals.duration + delta))
        self._target_push(drag, target)

    def _drag_resize_start(self, drag: Drag, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        anchor = self._resize_anchor(drag)
        if anchor is None:
            return
        originals, anchor_start, anchor_end = anchor
        tick = anchor_start + (self.view.tick_at(pos.x()) - drag.press_tick)
        grid = self._grid()
        snapping = self._snapping(mods)
        new_start = snap_nearest(round(tick), grid) if snapping else round(tick)
        new_start = min(max(0, new_start), anchor_end - (grid if snapping else 1))
        new_start = max(0, new_start)
        delta = new_start - anchor_start
        ends = originals.start + originals.duration
        starts = np.clip(originals.start + delta, 0, ends - 1)
        target = originals.replaced(start=starts, duration=ends - starts)
        self._target_push(drag, target)

    def _erase_along(self, a: QPointF, b: QPointF) -> None:
        """Erase every active-track note the mouse passed over between a and b."""
        steps = max(1, int((b - a).manhattanLength() // 3))
        hit_ids: list[int] = []
        for k in range(steps + 1):
            point = a + (b - a) * (k / steps)
            hit = self.note_at(point)
            if hit is not None:
                hit_ids.append(hit[0])
        if hit_ids:
            self.document.push(edits.DeleteNotes(self.document.active_track, hit_ids))

    def _update_cursor(self, pos: QPointF | None) -> None:
        tool = self.state.tool
        hit = self.note_at(pos) if pos is not None else None
        self._set_hover_note(hit[0] if hit is not None else None)
        if tool == "erase":
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            return
        if hit is None:
            shape = Qt.CursorShape.CrossCursor if tool == "draw" else Qt.CursorShape.ArrowCursor
        elif hit[1] in ("start", "end"):
            shape = Qt.CursorShape.SizeHorCursor
        else:
            shape = Qt.CursorShape.SizeAllCursor
        self.setCursor(shape)

    def note_rect(self, note_id: int) -> QRectF | None:
        """Where a note of the active track is drawn (None if it no longer exists)."""
        notes = self.document.active_notes()
        row = notes.indices_of_ids([note_id])
        if not len(row):
            return None
        k = int(row[0])
        x0 = self.view.x_of(int(notes.start[k]))
        x1 = self.view.x_of(int(notes.start[k] + notes.duration[k]))
        y = self.view.y_of(int(notes.pitch[k]))
        left, right = max(-4.0, x0), min(self.width() + 4.0, max(x1, x0 + 2))
        return QRectF(left, y, right - left, self.view.row_height)

    def _set_hover_note(self, note_id: int | None) -> None:
        """Outline the note under the mouse (an overlay: the notes layer is not redrawn)."""
        if note_id == self._hover_note:
            return
        for old_or_new in (self._hover_note, note_id):
            rect = self.note_rect(old_or_new) if old_or_new is not None else None
            if rect is not None:
                self.update(rect.toAlignedRect().adjusted(-2, -2, 2, 2))
        self._hover_note = note_id

    def leaveEvent(self, event) -> None:
        self._hover = None
        self._set_hover_note(None)
        self.hoverPitchChanged.emit(None)
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.wheelScrolled.emit(event)
        event.accept()

    def event(self, event: QEvent) -> bool:
        # During a drag, Escape cancels the drag instead of triggering "Select None".
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and self.drag is not None
            and event.key() == Qt.Key.Key_Escape
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.drag is not None:
            self._cancel_drag()
            return
        super().keyPressEvent(event)

    def _cancel_drag(self) -> None:
        """Escape during a drag puts the notes back where they were."""
        drag = self.drag
        self.drag = None
        self._rubber = None
        if drag is not None and drag.originals is not None and drag.kind != "draw":
            self._target_push(drag, drag.originals)
        self.document.end_gesture()
        self.update()
