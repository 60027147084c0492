"""The open song as a Qt document: one undo stack, selection, playhead and loop.

Every change to the song goes through `SongDocument.push(command)`, which wraps a pure
`studio.core.edits` command in one generic QUndoCommand (Orange's owpaintdata pattern).
A mouse drag pushes many small commands inside a gesture; they fold into one undo step
(`mergeWith` composes them into one record with an exact inverse).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from studio.core import edits
from studio.core.song import Notes, Song, Track, palette_colour

_CREATING = (edits.AddNotes, edits.Paste, edits.Duplicate)


class EditCommand(QUndoCommand):
    """One undoable edit: a resolved core command and its exact inverse."""

    def __init__(
        self, document: SongDocument, primitive: edits.Command, kind: type, text: str, merge_id: int
    ) -> None:
        super().__init__(text)
        self._doc = document
        self._primitive = primitive
        self._kind = kind
        self._merge_id = merge_id
        self._inverse: edits.Command | None = None
        self._before = (document.active_track, document.selection)
        self._after: tuple[int, np.ndarray] | None = None

    def id(self) -> int:
        return self._merge_id

    def redo(self) -> None:
        song, self._inverse = edits.apply(self._doc.song, self._primitive)
        if self._after is None:
            self._after = self._doc._state_after(self._primitive, self._kind, song)
        self._doc._install(song, *self._after, tracks=self._is_track_edit())

    def undo(self) -> None:
        assert self._inverse is not None
        song, _ = edits.apply(self._doc.song, self._inverse)
        self._doc._install(song, *self._before, tracks=self._is_track_edit())

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or self._inverse is None or other._inverse is None:
            return False
        forward = edits.compose(self._primitive, other._primitive)
        backward = edits.compose(other._inverse, self._inverse)
        if forward is None or backward is None:
            return False
        self._primitive, self._inverse, self._after = forward, backward, other._after
        # A drag that ends where it started changes nothing: drop it from the history.
        if isinstance(forward, edits.SetNotes) and isinstance(backward, edits.SetNotes):
            self.setObsolete(forward.add == backward.add)
        return True

    def _is_track_edit(self) -> bool:
        return isinstance(self._primitive, edits.TRACK_COMMANDS)


class SongDocument(QObject):
    """The song being edited plus editing state shared by every view."""

    changed = Signal()
    tracksChanged = Signal()
    activeTrackChanged = Signal(int)
    selectionChanged = Signal()
    playheadChanged = Signal(int)
    loopChanged = Signal()
    pathChanged = Signal(str)
    previewRequested = Signal(int, int, int)  # track, pitch, velocity
    modifiedChanged = Signal(bool)
    songReplaced = Signal()  # set_song: a different song (views re-fit to it)

    def __init__(self, song: Song | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.song: Song = song if song is not None else default_song()
        self.undo_stack = QUndoStack(self)
        self.active_track = 0
        self.selection: np.ndarray = edits.id_array(())
        self.playhead = 0
        self.loop: tuple[int, int] | None = None
        self.path: str | None = None
        self.clipboard: Notes | None = None
        self._gesture_text: str | None = None
        self._gesture_id = 1000
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    # -- whole-song changes ----------------------------------------------------------
    def set_song(self, song: Song, path: str | None = None, unsaved: bool = False) -> None:
        """Replace the song (open/new): clears undo history, selection and loop.

        ``unsaved``: the song exists nowhere else (a generated variation opened on its
        own), so it counts as modified until saved: nothing discards it without asking.
        """
        self.end_gesture()
        self.undo_stack.clear()
        self.song = song
        self.active_track = 0
        self.selection = edits.id_array(())
        self.loop = None
        self.playhead = 0
        self.path = path
        self.undo_stack.setClean()
        if unsaved:
            self.undo_stack.resetClean()  # no undo step can make it "clean" again
        self.tracksChanged.emit()
        self.activeTrackChanged.emit(self.active_track)
        self.selectionChanged.emit()
        self.loopChanged.emit()
        self.playheadChanged.emit(0)
        self.changed.emit()
        self.pathChanged.emit(path or "")
        self.songReplaced.emit()

    def set_path(self, path: str | None) -> None:
        self.path = path
        self.pathChanged.emit(path or "")

    def _on_clean_changed(self, clean: bool) -> None:
        self.modifiedChanged.emit(not clean)

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self, path: str) -> None:
        self.undo_stack.setClean()
        self.set_path(path)

    # -- edits ---------------------------------------------------------------------
    def push(self, command: edits.Command, text: str | None = None) -> bool:
        """Apply an edit as an undoable step. Returns False when it would change nothing.

        Inside a gesture (a mouse drag) consecutive pushes fold into one undo step.
        """
        primitive = edits.resolve(self.song, command)
        if edits.is_noop(primitive):
            return False
        label = self._gesture_text or text or _default_text(command)
        merge_id = self._gesture_id if self._gesture_text is not None else -1
        self.undo_stack.push(EditCommand(self, primitive, type(command), label, merge_id))
        return True

    def begin_gesture(self, text: str) -> None:
        """Start a user gesture (a drag): its edits become ONE undo step.

        Each gesture gets its own merge id, so two separate drags never fold together,
        and a click that edits nothing leaves no empty step in the history.
        """
        self._gesture_id += 1
        self._gesture_text = text

    def end_gesture(self) -> None:
        self._gesture_text = None

    @property
    def in_gesture(self) -> bool:
        return self._gesture_text is not None

    def insert_tracks(self, tracks: list[Track], text: str = "Add tracks") -> None:
        """Append tracks as ONE undo step."""
        if not tracks:
            return
        first = len(self.song.tracks)
        positions = tuple(range(first, first + len(tracks)))
        self.push(edits.InsertTracks(positions, tuple(tracks)), text)

    def replace_notes_in_range(
        self, track_index: int, start: int, end: int, notes: Notes, text: str = "Replace notes"
    ) -> None:
        """Replace the notes starting in [start, end) of a track as ONE undo step."""
        self.push(edits.ReplaceNotesInRange(track_index, start, end, notes), text)

    def replace_ranges(
        self,
        replacements: Sequence[edits.ReplaceNotesInRange],
        text: str = "Replace notes",
        new_tracks: Sequence[Track] = (),
    ) -> bool:
        """Replace ranges of several tracks and append ``new_tracks``, as ONE undo step
        (generated music written into a song). Everything is checked before anything
        changes, so a bad replacement raises ValueError and leaves the song as it was.
        Returns False when nothing would change."""
        count = len(self.song.tracks)
        seen: set[int] = set()
        for r in replacements:
            if not 0 <= r.track < count:
                raise ValueError(f"track {r.track} does not exist (the song has {count})")
            if r.end < r.start:
                raise ValueError(f"range end {r.end} is before its start {r.start}")
            if r.track in seen:  # resolved against one song: one replacement per track
                raise ValueError(f"track {r.track} is replaced twice")
            seen.add(r.track)
        commands: list[edits.Command] = [
            r for r in replacements if not edits.is_noop(edits.resolve(self.song, r))
        ]
        if new_tracks:
            positions = tuple(range(count, count + len(new_tracks)))
            commands.append(edits.InsertTracks(positions, tuple(new_tracks)))
        if not commands:
            return False
        self.end_gesture()
        # A macro of plain edit commands: Qt undoes and redoes it as one step.
        self.undo_stack.beginMacro(text)
        try:
            for command in commands:
                self.push(command, text)
        finally:
            self.undo_stack.endMacro()
        return True

    # -- editing state (not undoable, like in every DAW) -------------------------------
    def set_active_track(self, index: int) -> None:
        count = len(self.song.tracks)
        index = min(max(0, int(index)), count - 1) if count else 0
        if index == self.active_track:
            return
        self.active_track = index
        self.selection = edits.id_array(())
        self.activeTrackChanged.emit(index)
        self.selectionChanged.emit()

    def set_selection(self, ids: np.ndarray | list[int]) -> None:
        notes = self.active_notes()
        ids = np.unique(edits.id_array(ids))
        ids = ids[np.isin(ids, notes.ids)] if len(ids) else ids
        ids.setflags(write=False)
        if np.array_equal(ids, self.selection):
            return
        self.selection = ids
        self.selectionChanged.emit()

    def select_all(self) -> None:
        self.set_selection(self.active_notes().ids)

    def select_none(self) -> None:
        self.set_selection([])

    def invert_selection(self) -> None:
        ids = self.active_notes().ids
        self.set_selection(ids[~np.isin(ids, self.selection)])

    def set_playhead(self, tick: int) -> None:
        tick = max(0, int(tick))
        if tick == self.playhead:
            return
        self.playhead = tick
        self.playheadChanged.emit(tick)

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        """Set the loop region [start, end); `None` (or an empty range) clears it."""
        loop = None
        if start is not None and end is not None:
            start, end = sorted((max(0, int(start)), max(0, int(end))))
            loop = (start, end) if end > start else None
        if loop == self.loop:
            return
        self.loop = loop
        self.loopChanged.emit()

    def request_preview(self, pitch: int, velocity: int = 100, track: int | None = None) -> None:
        """Ask for a short audition of a pitch (the audio engine listens)."""
        self.previewRequested.emit(
            self.active_track if track is None else track, int(pitch), int(velocity)
        )

    # -- helpers for views -------------------------------------------------------------
    def active(self) -> Track | None:
        if 0 <= self.active_track < len(self.song.tracks):
            return self.song.tracks[self.active_track]
        return None

    def active_notes(self) -> Notes:
        track = self.active()
        return track.notes if track is not None else Notes()

    def target_ids(self) -> np.ndarray:
        """The selection, or every note of the active track when nothing is selected."""
        return self.selection if len(self.selection) else self.active_notes().ids

    # -- internals used by EditCommand ---------------------------------------------------
    def _state_after(
        self, primitive: edits.Command, kind: type, song: Song
    ) -> tuple[int, np.ndarray]:
        active = self.active_track
        selection = self.selection
        if isinstance(primitive, edits.InsertTracks):
            active += sum(1 for p in primitive.positions if p <= active)
            if not self.song.tracks:
                active = 0
        elif isinstance(primitive, edits.RemoveTracks):
            if active in primitive.indices:
                selection = edits.id_array(())
            active -= sum(1 for i in primitive.indices if i < active)
            active = min(max(0, active), max(0, len(song.tracks) - 1))
        elif isinstance(primitive, edits.MoveTrack):
            order = list(range(len(self.song.tracks)))
            order.insert(primitive.destination, order.pop(primitive.source))
            active = order.index(active) if active < len(order) else active
        elif isinstance(primitive, edits.SetNotes) and primitive.track == active:
            if kind in _CREATING:
                selection = primitive.add.ids
            else:
                present = song.tracks[active].notes.ids
                selection = selection[np.isin(selection, present)]
        selection = np.array(selection, dtype=np.int64)
        selection.setflags(write=False)
        return active, selection

    def _install(self, song: Song, active: int, selection: np.ndarray, tracks: bool) -> None:
        self.song = song
        active_moved = active != self.active_track
        selection_moved = not np.array_equal(selection, self.selection)
        self.active_track = active
        self.selection = selection
        if tracks:
            self.tracksChanged.emit()
        if active_moved:
            self.activeTrackChanged.emit(active)
        if selection_moved:
            self.selectionChanged.emit()
        self.changed.emit()


def default_song() -> Song:
    """The song of File ▸ New: one empty piano track."""
    return Song("Untitled", tracks=[Track("Piano", program=0, colour=palette_colour(0))])


def _default_text(command: edits.Command) -> str:
    names = {
        edits.AddNotes: "Add notes",
        edits.DeleteNotes: "Delete notes",
        edits.MoveNotes: "Move notes",
        edits.Transpose: "Transpose",
        edits.Nudge: "Nudge",
        edits.ResizeNotes: "Resize notes",
        edits.SetDurations: "Set lengths",
        edits.SetVelocity: "Set velocity",
        edits.ScaleVelocity: "Scale velocity",
        edits.Paste: "Paste",
        edits.Duplicate: "Duplicate",
        edits.Quantize: "Quantize",
        edits.Legato: "Legato",
        edits.Humanize: "Humanize",
        edits.ReplaceNotesInRange: "Replace notes",
        edits.InsertTracks: "Add tracks",
        edits.RemoveTracks: "Delete tracks",
        edits.MoveTrack: "Move track",
        edits.SetTrackProperty: "Change track",
        edits.SetNotes: "Edit notes",
    }
    return names.get(type(command), "Edit")
