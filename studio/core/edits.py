"""Song edits as small immutable command records, applied by pure functions.

The pattern follows Orange's paint-data widget: a command says *what* the user asked for
(move these notes by 2 beats, transpose them up an octave, rename a track); `apply(song,
command)` returns a new song and the command that undoes it. Note edits resolve to one
primitive, `SetNotes` ("remove these ids, add this block"), so every inverse is exact
even when an edit was clamped at the edge of the pitch range or at tick 0. The Qt undo
stack is a thin wrapper around these functions and they are tested without Qt.

Songs are never mutated: `apply` copies the song (cheap: `Notes` blocks are immutable and
shared) and replaces the tracks it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np

from studio.core.quantize import blend, snap_nearest_array
from studio.core.song import MIDI_MAX, Controllers, Notes, Song, Track


def id_array(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """A read-only int64 array of note ids (commands must not change after creation)."""
    arr = np.array(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).ravel()
    arr.setflags(write=False)
    return arr


def _no_ids() -> np.ndarray:
    return id_array(())


# --------------------------------------------------------------------------------------
# Note commands. `track` is a track index; `ids` are note ids inside that track.
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SetNotes:
    """Primitive: remove the notes with `remove` ids, then add the `add` block (ids kept)."""

    track: int
    remove: np.ndarray = field(default_factory=_no_ids)
    add: Notes = field(default_factory=Notes)

    def __post_init__(self) -> None:
        object.__setattr__(self, "remove", id_array(self.remove))


@dataclass(frozen=True, eq=False)
class AddNotes:
    """Add notes; they get fresh ids (the ids in `notes` are ignored)."""

    track: int
    notes: Notes


@dataclass(frozen=True, eq=False)
class DeleteNotes:
    track: int
    ids: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class MoveNotes:
    """Move notes in time and pitch as a group; the group clamps at tick 0 and 0–127."""

    track: int
    ids: np.ndarray
    ticks: int = 0
    semitones: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class Transpose:
    """Transpose as a group: the interval structure is kept, the group clamps into 0–127."""

    track: int
    ids: np.ndarray
    semitones: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class Nudge:
    """Shift notes in time (by a snap step); the group stops at tick 0."""

    track: int
    ids: np.ndarray
    ticks: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class ResizeNotes:
    """Move the `edge` ("start" or "end") of each note by `ticks`; notes keep >= 1 tick."""

    track: int
    ids: np.ndarray
    edge: str
    ticks: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))
        if self.edge not in ("start", "end"):
            raise ValueError(f"edge must be 'start' or 'end', got {self.edge!r}")


@dataclass(frozen=True, eq=False)
class SetDurations:
    """Give notes absolute durations (one value for all, or one per id in `ids` order)."""

    track: int
    ids: np.ndarray
    durations: np.ndarray | int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class SetVelocity:
    """Set velocities (one value for all, or one per id in `ids` order); clamps to 1–127."""

    track: int
    ids: np.ndarray
    velocities: np.ndarray | int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class ScaleVelocity:
    """velocity * factor + offset, clamped to 1–127 (relative editing of a selection)."""

    track: int
    ids: np.ndarray
    factor: float = 1.0
    offset: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class Paste:
    """Paste a clip so that its earliest note starts at `at`; pasted notes get fresh ids."""

    track: int
    clip: Notes
    at: int


@dataclass(frozen=True, eq=False)
class Duplicate:
    """Copy notes `offset` ticks later (default: right after the selection's span)."""

    track: int
    ids: np.ndarray
    offset: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class Quantize:
    """Pull starts and/or lengths toward a grid (`strength` 0–1)."""

    track: int
    ids: np.ndarray
    grid: int
    strength: float = 1.0
    starts: bool = True
    lengths: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))
        if self.grid < 1:
            raise ValueError(f"quantize grid must be >= 1 tick, got {self.grid}")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"quantize strength must be between 0 and 1, got {self.strength}")


@dataclass(frozen=True, eq=False)
class Legato:
    """Stretch each note up to the next later start among the notes (the last is kept)."""

    track: int
    ids: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class Humanize:
    """Random start offsets (± `timing` ticks) and velocity offsets (± `velocity`), seeded."""

    track: int
    ids: np.ndarray
    timing: int
    velocity: int
    seed: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", id_array(self.ids))


@dataclass(frozen=True, eq=False)
class ReplaceNotesInRange:
    """Remove the notes starting in [start, end) and add `notes` (fresh ids): generation."""

    track: int
    start: int
    end: int
    notes: Notes


# --------------------------------------------------------------------------------------
# Track commands
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class InsertTracks:
    """Insert tracks so that they end up at `positions` (ascending final indices)."""

    positions: tuple[int, ...]
    tracks: tuple[Track, ...]

    def __post_init__(self) -> None:
        if len(self.positions) != len(self.tracks):
            raise ValueError("insert tracks: one position per track")
        if list(self.positions) != sorted(self.positions):
            raise ValueError("insert tracks: positions must be ascending")
        # Keep private copies so later changes to the caller's Track objects cannot leak in.
        object.__setattr__(self, "tracks", tuple(t.copy() for t in self.tracks))


@dataclass(frozen=True, eq=False)
class RemoveTracks:
    indices: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class MoveTrack:
    source: int
    destination: int


TRACK_FIELDS = ("name", "program", "is_drum", "colour", "mute", "solo")


@dataclass(frozen=True, eq=False)
class SetTrackProperty:
    """Change one of name, program, is_drum, colour, mute, solo."""

    index: int
    name: str
    value: Any

    def __post_init__(self) -> None:
        if self.name not in TRACK_FIELDS:
            raise ValueError(f"track property must be one of {TRACK_FIELDS}, got {self.name!r}")


NoteCommand: TypeAlias = (
    SetNotes
    | AddNotes
    | DeleteNotes
    | MoveNotes
    | Transpose
    | Nudge
    | ResizeNotes
    | SetDurations
    | SetVelocity
    | ScaleVelocity
    | Paste
    | Duplicate
    | Quantize
    | Legato
    | Humanize
    | ReplaceNotesInRange
)
TrackCommand: TypeAlias = InsertTracks | RemoveTracks | MoveTrack | SetTrackProperty


# --------------------------------------------------------------------------------------
# Controller commands (sustain pedal, modulation, expression, pitch bend...).
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SetControllerLane:
    """Replace every event of controller `number` in a track by `events` (all of them of
    that number). A whole lane is small, so storing it whole keeps the inverse exact and
    lets a drawing stroke fold into one step by keeping only its last state."""

    track: int
    number: int
    events: Controllers


ControllerCommand: TypeAlias = SetControllerLane
Command: TypeAlias = NoteCommand | TrackCommand | ControllerCommand

TRACK_COMMANDS = (InsertTracks, RemoveTracks, MoveTrack, SetTrackProperty)


# --------------------------------------------------------------------------------------
# Resolution of note commands into SetNotes
# --------------------------------------------------------------------------------------
def _notes_of(song: Song, track: int) -> Notes:
    if not 0 <= track < len(song.tracks):
        raise IndexError(f"track {track} does not exist (song has {len(song.tracks)} tracks)")
    return song.tracks[track].notes


def _changed(track: int, notes: Notes, rows: np.ndarray, **columns: np.ndarray) -> SetNotes:
    """SetNotes that replaces `rows` by versions with new columns (ids kept)."""
    if not len(rows):
        return SetNotes(track)
    old = notes.take(rows)
    new = old.replaced(**columns)
    if new == old:
        return SetNotes(track)  # nothing changed (e.g. a clamped move): not an edit
    return SetNotes(track, old.ids, new)


def _fresh(notes: Notes, block: Notes, pitch=None, start=None) -> Notes:
    """`block` with ids that do not collide with `notes`."""
    first = notes.next_id()
    return Notes(
        block.pitch if pitch is None else pitch,
        block.start if start is None else start,
        block.duration,
        block.velocity,
        np.arange(first, first + len(block), dtype=np.int64),
    )


def _per_id(values: np.ndarray | int, ids: np.ndarray, row_ids: np.ndarray) -> np.ndarray:
    """Values given in `ids` order, reordered to match `row_ids` (a subset of ids)."""
    if np.ndim(values) == 0:
        return np.full(len(row_ids), int(values), dtype=np.int64)
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) != len(ids):
        raise ValueError(f"expected {len(ids)} values (one per id), got {len(values)}")
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], row_ids)
    return np.rint(values[order][pos]).astype(np.int64)


def _resolve_set(song: Song, c: SetNotes) -> SetNotes:
    return c


def _resolve_add(song: Song, c: AddNotes) -> SetNotes:
    notes = _notes_of(song, c.track)
    if not len(c.notes):
        return SetNotes(c.track)
    return SetNotes(c.track, (), _fresh(notes, c.notes))


def _resolve_delete(song: Song, c: DeleteNotes) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    return SetNotes(c.track, notes.ids[rows], Notes())


def _group_move(notes: Notes, rows: np.ndarray, ticks: int, semitones: int) -> tuple[int, int]:
    """Clamp a group move so that no note leaves tick 0 or the MIDI pitch range."""
    if not len(rows):
        return 0, 0
    starts, pitches = notes.start[rows], notes.pitch[rows]
    ticks = max(int(ticks), -int(starts.min()))
    low, high = -int(pitches.min()), MIDI_MAX - int(pitches.max())
    return ticks, min(max(int(semitones), low), high)


def _resolve_move(song: Song, c: MoveNotes | Transpose | Nudge) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    ticks = getattr(c, "ticks", 0)
    semitones = getattr(c, "semitones", 0)
    dt, dp = _group_move(notes, rows, ticks, semitones)
    return _changed(
        c.track,
        notes,
        rows,
        start=notes.start[rows] + dt,
        pitch=notes.pitch[rows].astype(np.int64) + dp,
    )


def _resolve_resize(song: Song, c: ResizeNotes) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    start, dur = notes.start[rows], notes.duration[rows]
    if c.edge == "end":
        return _changed(c.track, notes, rows, duration=np.maximum(1, dur + int(c.ticks)))
    end = start + dur
    new_start = np.clip(start + int(c.ticks), 0, end - 1)
    return _changed(c.track, notes, rows, start=new_start, duration=end - new_start)


def _resolve_durations(song: Song, c: SetDurations) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    durations = np.maximum(1, _per_id(c.durations, c.ids, notes.ids[rows]))
    return _changed(c.track, notes, rows, duration=durations)


def _resolve_velocity(song: Song, c: SetVelocity) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    velocities = np.clip(_per_id(c.velocities, c.ids, notes.ids[rows]), 1, MIDI_MAX)
    return _changed(c.track, notes, rows, velocity=velocities)


def _resolve_scale_velocity(song: Song, c: ScaleVelocity) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    scaled = np.rint(notes.velocity[rows] * float(c.factor) + int(c.offset)).astype(np.int64)
    return _changed(c.track, notes, rows, velocity=np.clip(scaled, 1, MIDI_MAX))


def _resolve_paste(song: Song, c: Paste) -> SetNotes:
    notes = _notes_of(song, c.track)
    if not len(c.clip):
        return SetNotes(c.track)
    start = c.clip.start - int(c.clip.start.min()) + max(0, int(c.at))
    return SetNotes(c.track, (), _fresh(notes, c.clip, start=start))


def _resolve_duplicate(song: Song, c: Duplicate) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    if not len(rows):
        return SetNotes(c.track)
    block = notes.take(rows)
    offset = c.offset
    if offset is None:
        offset = int((block.start + block.duration).max() - block.start.min())
    start = np.maximum(0, block.start + int(offset))
    return SetNotes(c.track, (), _fresh(notes, block, start=start))


def _resolve_quantize(song: Song, c: Quantize) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    start, dur = notes.start[rows], notes.duration[rows]
    new_start = start
    if c.starts:
        new_start = np.maximum(0, blend(start, snap_nearest_array(start, c.grid), c.strength))
    new_dur = dur
    if c.lengths:
        target = np.maximum(c.grid, snap_nearest_array(dur, c.grid))
        new_dur = np.maximum(1, blend(dur, target, c.strength))
    return _changed(c.track, notes, rows, start=new_start, duration=new_dur)


def _resolve_legato(song: Song, c: Legato) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    start = notes.start[rows]
    starts = np.unique(start)
    nxt = np.searchsorted(starts, start, side="right")
    has_next = nxt < len(starts)
    dur = notes.duration[rows].copy()
    dur[has_next] = starts[nxt[has_next]] - start[has_next]
    return _changed(c.track, notes, rows, duration=dur)


def _resolve_humanize(song: Song, c: Humanize) -> SetNotes:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.ids)
    rng = np.random.default_rng(int(c.seed))
    timing, velocity = abs(int(c.timing)), abs(int(c.velocity))
    dt = rng.integers(-timing, timing + 1, len(rows))
    dv = rng.integers(-velocity, velocity + 1, len(rows))
    return _changed(
        c.track,
        notes,
        rows,
        start=np.maximum(0, notes.start[rows] + dt),
        velocity=np.clip(notes.velocity[rows].astype(np.int64) + dv, 1, MIDI_MAX),
    )


def _resolve_replace_range(song: Song, c: ReplaceNotesInRange) -> SetNotes:
    notes = _notes_of(song, c.track)
    if c.end < c.start:
        raise ValueError(f"range end {c.end} is before its start {c.start}")
    lo = int(np.searchsorted(notes.start, c.start, side="left"))
    hi = int(np.searchsorted(notes.start, c.end, side="left"))
    removed = notes.ids[lo:hi]
    add = _fresh(notes, c.notes) if len(c.notes) else Notes()
    return SetNotes(c.track, removed, add)


_RESOLVERS: dict[type, Callable[[Song, Any], SetNotes]] = {
    SetNotes: _resolve_set,
    AddNotes: _resolve_add,
    DeleteNotes: _resolve_delete,
    MoveNotes: _resolve_move,
    Transpose: _resolve_move,
    Nudge: _resolve_move,
    ResizeNotes: _resolve_resize,
    SetDurations: _resolve_durations,
    SetVelocity: _resolve_velocity,
    ScaleVelocity: _resolve_scale_velocity,
    Paste: _resolve_paste,
    Duplicate: _resolve_duplicate,
    Quantize: _resolve_quantize,
    Legato: _resolve_legato,
    Humanize: _resolve_humanize,
    ReplaceNotesInRange: _resolve_replace_range,
    SetControllerLane: lambda song, c: c,  # already primitive
}


def resolve(song: Song, command: Command) -> Command:
    """The primitive form of a command against `song` (note commands become SetNotes)."""
    if isinstance(command, TRACK_COMMANDS):
        return command
    try:
        resolver = _RESOLVERS[type(command)]
    except KeyError:
        raise TypeError(f"not an edit command: {command!r}") from None
    return resolver(song, command)


# --------------------------------------------------------------------------------------
# Application
# --------------------------------------------------------------------------------------
def _apply_set(song: Song, c: SetNotes) -> tuple[Song, SetNotes]:
    notes = _notes_of(song, c.track)
    rows = notes.indices_of_ids(c.remove)
    if len(rows) != len(np.unique(c.remove)):
        raise ValueError(f"track {c.track}: some notes to remove do not exist")
    removed = notes.take(rows)
    keep = np.ones(len(notes), dtype=bool)
    keep[rows] = False
    kept = notes.take(np.nonzero(keep)[0]) if len(rows) else notes
    new_notes = kept.with_notes(c.add) if len(c.add) else kept
    new_song = song.copy()
    new_song.tracks[c.track].notes = new_notes
    return new_song, SetNotes(c.track, c.add.ids, removed)


def _apply_insert(song: Song, c: InsertTracks) -> tuple[Song, RemoveTracks]:
    new_song = song.copy()
    for position, track in zip(c.positions, c.tracks, strict=True):
        if not 0 <= position <= len(new_song.tracks):
            raise IndexError(f"cannot insert a track at position {position}")
        new_song.tracks.insert(position, track.copy())
    return new_song, RemoveTracks(tuple(c.positions))


def _apply_remove(song: Song, c: RemoveTracks) -> tuple[Song, InsertTracks]:
    indices = sorted(set(c.indices))
    for index in indices:
        if not 0 <= index < len(song.tracks):
            raise IndexError(f"track {index} does not exist")
    new_song = song.copy()
    removed = [new_song.tracks[k] for k in indices]
    for index in reversed(indices):
        del new_song.tracks[index]
    return new_song, InsertTracks(tuple(indices), tuple(removed))


def _apply_move_track(song: Song, c: MoveTrack) -> tuple[Song, MoveTrack]:
    n = len(song.tracks)
    if not (0 <= c.source < n and 0 <= c.destination < n):
        raise IndexError(f"cannot move track {c.source} to {c.destination} ({n} tracks)")
    new_song = song.copy()
    new_song.tracks.insert(c.destination, new_song.tracks.pop(c.source))
    return new_song, MoveTrack(c.destination, c.source)


def _apply_property(song: Song, c: SetTrackProperty) -> tuple[Song, SetTrackProperty]:
    if not 0 <= c.index < len(song.tracks):
        raise IndexError(f"track {c.index} does not exist")
    new_song = song.copy()
    track = new_song.tracks[c.index]
    old = getattr(track, c.name)
    setattr(track, c.name, c.value)  # Track validates the value (ValueError names the field)
    return new_song, SetTrackProperty(c.index, c.name, old)


def _apply_controller_lane(song: Song, c: SetControllerLane) -> tuple[Song, SetControllerLane]:
    if not 0 <= c.track < len(song.tracks):
        raise IndexError(f"track {c.track} does not exist")
    if len(c.events) and not np.all(c.events.number == c.number):
        raise ValueError(f"a lane of controller {c.number} holds only that controller's events")
    new_song = song.copy()
    track = new_song.tracks[c.track]
    old = track.controllers.of(c.number)
    track.controllers = track.controllers.without(c.number).with_events(c.events)
    return new_song, SetControllerLane(c.track, c.number, old)


def apply(song: Song, command: Command) -> tuple[Song, Command]:
    """Apply an edit: returns (new song, command that undoes it). `song` is not changed."""
    primitive = resolve(song, command)
    if isinstance(primitive, SetNotes):
        return _apply_set(song, primitive)
    if isinstance(primitive, InsertTracks):
        return _apply_insert(song, primitive)
    if isinstance(primitive, RemoveTracks):
        return _apply_remove(song, primitive)
    if isinstance(primitive, MoveTrack):
        return _apply_move_track(song, primitive)
    if isinstance(primitive, SetTrackProperty):
        return _apply_property(song, primitive)
    if isinstance(primitive, SetControllerLane):
        return _apply_controller_lane(song, primitive)
    raise TypeError(f"not an edit command: {command!r}")


def is_noop(primitive: Command) -> bool:
    """True for a resolved command that changes nothing (not worth an undo step)."""
    if isinstance(primitive, SetNotes):
        return not len(primitive.remove) and not len(primitive.add)
    if isinstance(primitive, (InsertTracks, RemoveTracks)):
        return not len(
            primitive.positions if isinstance(primitive, InsertTracks) else primitive.indices
        )
    if isinstance(primitive, MoveTrack):
        return primitive.source == primitive.destination
    return False


def compose(first: Command, second: Command) -> Command | None:
    """One command equal to `first` then `second`, when cheaply possible (else None).

    Used to fold the many small steps of a mouse drag (or an erase stroke) into one
    record: remove R1 + add A1, then remove R2 + add A2, is the same as removing R1 plus
    the notes of R2 that existed before, and adding what is left of A1 plus A2.
    """
    if isinstance(first, SetControllerLane) and isinstance(second, SetControllerLane):
        same_lane = (first.track, first.number) == (second.track, second.number)
        return second if same_lane else None
    if not (isinstance(first, SetNotes) and isinstance(second, SetNotes)):
        return None
    if first.track != second.track:
        return None
    added_first = first.add.ids
    from_original = second.remove[~np.isin(second.remove, added_first)]
    kept_added = first.add.take(np.nonzero(~np.isin(added_first, second.remove))[0])
    remove = np.concatenate([first.remove, from_original])
    add = kept_added.with_notes(second.add) if len(second.add) else kept_added
    return SetNotes(first.track, remove, add)


def touched_ids(primitive: Command) -> np.ndarray:
    """Ids present after applying a resolved note command that it added or changed."""
    if isinstance(primitive, SetNotes):
        return primitive.add.ids
    return id_array(())


def command_track(command: Command) -> int | None:
    """The track a note command edits (None for track commands)."""
    if isinstance(command, TRACK_COMMANDS):
        return None
    return command.track
