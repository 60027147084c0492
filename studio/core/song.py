"""The song model: what a composer edits and what the GAN reads and writes.

A `Song` holds tracks; a `Track` holds its notes as a `Notes` block: columnar numpy
arrays sorted by start time, so that the editor and the GAN can find the notes of a
time range in O(log n) even with 100,000 notes. `Notes` is immutable: every edit
builds a new block, which keeps undo exact and cheap to reason about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

MIDI_MAX = 127
# Controller numbers (MIDI CC) a composer meets most; PITCH_BEND is not a CC but shares the
# controller columns under a number no CC uses, so one block holds every continuous control.
MODULATION = 1
VOLUME = 7
PAN = 10
EXPRESSION = 11
SUSTAIN = 64
PITCH_BEND = 128
PITCH_BEND_MIN, PITCH_BEND_MAX = -8192, 8191  # 14-bit bend, 0 = centre
DEFAULT_TICKS_PER_BEAT = 480
DEFAULT_BPM = 120.0
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

# A palette that reads well on a dark background; new tracks cycle through it.
TRACK_PALETTE = (
    "#4fc3f7",
    "#ffb74d",
    "#81c784",
    "#e57373",
    "#ba68c8",
    "#fff176",
    "#4db6ac",
    "#f06292",
)


def _check_int(field: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field} must be an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{field} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{field} must be <= {high}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Note:
    """One note. Times are in ticks of the song's resolution."""

    pitch: int
    start: int
    duration: int
    velocity: int = 100

    def __post_init__(self) -> None:
        _check_int("pitch", self.pitch, 0, MIDI_MAX)
        _check_int("start", self.start, 0)
        _check_int("duration", self.duration, 1)
        _check_int("velocity", self.velocity, 1, MIDI_MAX)

    @property
    def end(self) -> int:
        return self.start + self.duration


class Notes:
    """An immutable, start-sorted block of notes stored as numpy columns.

    Columns: ``pitch`` (int16), ``start`` and ``duration`` (int64, ticks), ``velocity``
    (int16) and ``ids`` (int64, unique within the block; edits refer to notes by id so
    that a selection survives re-sorting). Rows are ordered by (start, pitch, id).
    """

    __slots__ = ("pitch", "start", "duration", "velocity", "ids", "_max_duration")

    pitch: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    velocity: np.ndarray
    ids: np.ndarray

    def __init__(
        self,
        pitch: Iterable[int] | np.ndarray = (),
        start: Iterable[int] | np.ndarray = (),
        duration: Iterable[int] | np.ndarray = (),
        velocity: Iterable[int] | np.ndarray | None = None,
        ids: Iterable[int] | np.ndarray | None = None,
        *,
        validate: bool = True,
    ) -> None:
        p = _small_ints(pitch)
        s = np.asarray(start, dtype=np.int64).ravel()
        d = np.asarray(duration, dtype=np.int64).ravel()
        n = len(p)
        v = np.full(n, 100, dtype=np.int16) if velocity is None else _small_ints(velocity)
        i = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64).ravel()
        if not (len(s) == len(d) == len(v) == len(i) == n):
            raise ValueError(
                "notes: pitch, start, duration, velocity and ids must have the same length"
            )
        if validate and n:
            _check_column("pitch", p, 0, MIDI_MAX)
            _check_column("start", s, 0, None)
            _check_column("duration", d, 1, None)
            _check_column("velocity", v, 1, MIDI_MAX)
            if len(np.unique(i)) != n:
                raise ValueError("ids must be unique within a track")
        order = np.lexsort((i, p, s))
        if n > 1 and not np.all(order[1:] > order[:-1]):  # (no arange: big blocks are common)
            p, s, d, v, i = p[order], s[order], d[order], v[order], i[order]
        del order
        self.pitch = _frozen(p.astype(np.int16))
        self.start = _frozen(s)
        self.duration = _frozen(d)
        self.velocity = _frozen(v.astype(np.int16))
        self.ids = _frozen(i)
        self._max_duration = int(d.max()) if n else 0

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_notes(cls, notes: Iterable[Note], ids: Iterable[int] | None = None) -> Notes:
        items = list(notes)
        return cls(
            [n.pitch for n in items],
            [n.start for n in items],
            [n.duration for n in items],
            [n.velocity for n in items],
            None if ids is None else list(ids),
        )

    @classmethod
    def empty(cls) -> Notes:
        return cls()

    # -- container protocol --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.pitch)

    def __iter__(self) -> Iterator[Note]:
        for k in range(len(self)):
            yield self[k]

    def __getitem__(self, k: int) -> Note:
        return Note(
            int(self.pitch[k]), int(self.start[k]), int(self.duration[k]), int(self.velocity[k])
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Notes):
            return NotImplemented
        return all(
            np.array_equal(a, b) for a, b in zip(self.columns(), other.columns(), strict=True)
        )

    def __repr__(self) -> str:
        return f"Notes(n={len(self)}, end={self.end})"

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.pitch, self.start, self.duration, self.velocity, self.ids

    def same_notes(self, other: Notes) -> bool:
        """Equal ignoring ids: same pitches, times and velocities."""
        return all(
            np.array_equal(a, b)
            for a, b in zip(self.columns()[:4], other.columns()[:4], strict=True)
        )

    def to_list(self) -> list[Note]:
        return list(self)

    # -- queries -----------------------------------------------------------------
    @property
    def end(self) -> int:
        """Tick at which the last note ends (0 when empty)."""
        return int((self.start + self.duration).max()) if len(self) else 0

    @property
    def max_duration(self) -> int:
        return self._max_duration

    def next_id(self) -> int:
        return int(self.ids.max()) + 1 if len(self) else 0

    def indices_in_range(self, t0: int, t1: int) -> np.ndarray:
        """Row indices of notes sounding in [t0, t1): start < t1 and end > t0.

        Binary search bounds the candidates: a note that ends after t0 must start after
        t0 - max_duration, so only that slice of the sorted starts is scanned.
        """
        if not len(self) or t1 <= t0:
            return np.empty(0, dtype=np.int64)
        lo = int(np.searchsorted(self.start, t0 - self._max_duration, side="left"))
        hi = int(np.searchsorted(self.start, t1, side="left"))
        if hi <= lo:
            return np.empty(0, dtype=np.int64)
        ends = self.start[lo:hi] + self.duration[lo:hi]
        return lo + np.nonzero(ends > t0)[0]

    def indices_of_ids(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Row indices of the given ids (ids not present are ignored)."""
        wanted = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if not len(wanted) or not len(self):
            return np.empty(0, dtype=np.int64)
        return np.nonzero(np.isin(self.ids, wanted))[0]

    def take(self, rows: np.ndarray) -> Notes:
        """A block of the given rows (ids kept)."""
        rows = np.asarray(rows, dtype=np.int64)
        return Notes(
            self.pitch[rows],
            self.start[rows],
            self.duration[rows],
            self.velocity[rows],
            self.ids[rows],
            validate=False,
        )

    def in_range(self, t0: int, t1: int) -> Notes:
        return self.take(self.indices_in_range(t0, t1))

    # -- building new blocks ---------------------------------------------------------
    def with_notes(self, other: Notes) -> Notes:
        """This block plus `other` (ids must not collide)."""
        return Notes(
            np.concatenate([self.pitch, other.pitch]),
            np.concatenate([self.start, other.start]),
            np.concatenate([self.duration, other.duration]),
            np.concatenate([self.velocity, other.velocity]),
            np.concatenate([self.ids, other.ids]),
        )

    def without_ids(self, ids: Iterable[int] | np.ndarray) -> Notes:
        rows = self.indices_of_ids(ids)
        keep = np.ones(len(self), dtype=bool)
        keep[rows] = False
        return self.take(np.nonzero(keep)[0])

    def replaced(self, **columns: np.ndarray) -> Notes:
        """A block with some columns replaced (same length), validated and re-sorted."""
        cols = {
            "pitch": self.pitch,
            "start": self.start,
            "duration": self.duration,
            "velocity": self.velocity,
            "ids": self.ids,
        }
        unknown = set(columns) - set(cols)
        if unknown:
            raise ValueError(f"unknown note column(s): {sorted(unknown)}")
        cols.update(columns)
        return Notes(**cols)

    def shifted(self, ticks: int) -> Notes:
        return self.replaced(start=self.start + int(ticks))


def _small_ints(values: Iterable[int] | np.ndarray) -> np.ndarray:
    """A column of pitches or velocities: kept in its own small integer type when it has
    one (no int64 copy of a million-note column), else read as int64 and checked later."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and values.itemsize <= 2:
        return values.ravel()
    return np.asarray(values, dtype=np.int64).ravel()


def _check_column(field: str, values: np.ndarray, low: int | None, high: int | None) -> None:
    if low is not None and values.min() < low:
        raise ValueError(f"{field} must be >= {low}, got {int(values.min())}")
    if high is not None and values.max() > high:
        raise ValueError(f"{field} must be <= {high}, got {int(values.max())}")


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


class Controllers:
    """An immutable, tick-sorted block of controller events stored as numpy columns.

    Columns: ``tick`` (int64), ``number`` (int16: 0..127 a MIDI control change, 128
    `PITCH_BEND`) and ``value`` (int16: 0..127 for a control change, -8192..8191 for a
    bend). Events keep their order within one tick (a stable sort), because the last
    event of a controller at a tick is the one in force.
    """

    __slots__ = ("tick", "number", "value")

    tick: np.ndarray
    number: np.ndarray
    value: np.ndarray

    def __init__(
        self,
        tick: Iterable[int] | np.ndarray = (),
        number: Iterable[int] | np.ndarray = (),
        value: Iterable[int] | np.ndarray = (),
        *,
        validate: bool = True,
    ) -> None:
        t = np.asarray(tick, dtype=np.int64).ravel()
        c = np.asarray(number, dtype=np.int64).ravel()
        v = np.asarray(value, dtype=np.int64).ravel()
        if not len(t) == len(c) == len(v):
            raise ValueError("controllers: tick, number and value must have the same length")
        if validate and len(t):
            _check_column("controller tick", t, 0, None)
            _check_column("controller number", c, 0, PITCH_BEND)
            bend = c == PITCH_BEND
            if bend.any():
                _check_column("pitch bend", v[bend], PITCH_BEND_MIN, PITCH_BEND_MAX)
            if not bend.all():
                _check_column("controller value", v[~bend], 0, MIDI_MAX)
        if len(t) > 1 and np.any(t[1:] < t[:-1]):
            order = np.argsort(t, kind="stable")
            t, c, v = t[order], c[order], v[order]
        self.tick = _frozen(t)
        self.number = _frozen(c.astype(np.int16))
        self.value = _frozen(v.astype(np.int16))

    def __len__(self) -> int:
        return len(self.tick)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Controllers):
            return NotImplemented
        return all(
            np.array_equal(a, b) for a, b in zip(self.columns(), other.columns(), strict=True)
        )

    def __repr__(self) -> str:
        return f"Controllers(n={len(self)}, numbers={self.numbers()})"

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.tick, self.number, self.value

    @property
    def end(self) -> int:
        """Tick of the last event (0 when empty)."""
        return int(self.tick[-1]) if len(self) else 0

    def numbers(self) -> list[int]:
        """The controller numbers present, sorted."""
        return [int(n) for n in np.unique(self.number)]

    def take(self, rows: np.ndarray | slice) -> Controllers:
        return Controllers(self.tick[rows], self.number[rows], self.value[rows], validate=False)

    def of(self, number: int) -> Controllers:
        """Only the events of one controller."""
        return self.take(np.nonzero(self.number == number)[0])

    def value_at(self, number: int, tick: int, default: int | None = None) -> int | None:
        """The value of a controller in force at ``tick``: its last event at or before it."""
        own = self.of(number)
        k = int(np.searchsorted(own.tick, tick, side="right"))
        return int(own.value[k - 1]) if k else default

    def with_events(self, other: Controllers) -> Controllers:
        """This block plus ``other``; at equal ticks ``other``'s events come after ours."""
        return Controllers(
            np.concatenate([self.tick, other.tick]),
            np.concatenate([self.number, other.number]),
            np.concatenate([self.value, other.value]),
            validate=False,
        )

    def without(self, number: int, t0: int = 0, t1: int | None = None) -> Controllers:
        """This block less the events of ``number`` with ``t0 <= tick < t1`` (None: to the end)."""
        drop = (self.number == number) & (self.tick >= t0)
        if t1 is not None:
            drop &= self.tick < t1
        return self.take(np.nonzero(~drop)[0])

    def shifted(self, ticks: int) -> Controllers:
        return Controllers(self.tick + int(ticks), self.number, self.value)

    def sustain_spans(self, end_tick: int) -> np.ndarray:
        """int64 ``[k, 2]``: (down, up) ticks of each sustain-pedal press.

        A CC64 value of 64 or more holds the pedal down (the General MIDI reading); a
        press never released ends at ``end_tick``.
        """
        pedal = self.of(SUSTAIN)
        down = pedal.value >= 64
        # Only changes of state matter: repeated "down" values (half-pedalling) extend one press.
        change = np.nonzero(down != np.concatenate([[False], down[:-1]]))[0]
        ticks = pedal.tick[change]
        if len(change) % 2:
            ticks = np.concatenate([ticks, [max(int(end_tick), int(ticks[-1]))]])
        return ticks.reshape(-1, 2).astype(np.int64)


@dataclass(frozen=True, slots=True)
class TempoChange:
    tick: int
    bpm: float

    def __post_init__(self) -> None:
        _check_int("tempo tick", self.tick, 0)
        if not (isinstance(self.bpm, (int, float)) and 1.0 <= float(self.bpm) <= 999.0):
            raise ValueError(f"tempo bpm must be between 1 and 999, got {self.bpm!r}")


@dataclass(frozen=True, slots=True)
class TimeSignature:
    tick: int
    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        _check_int("time signature tick", self.tick, 0)
        _check_int("time signature numerator", self.numerator, 1, 64)
        _check_int("time signature denominator", self.denominator, 1, 64)
        if self.denominator & (self.denominator - 1):
            raise ValueError(
                f"time signature denominator must be a power of two, got {self.denominator}"
            )


@dataclass(frozen=True, slots=True)
class KeySignature:
    """A key from ``tick`` on: ``sharps`` -7..7 (negative: flats; 0 with ``minor`` False
    is C major) as MIDI's key-signature event and MusicXML's ``<fifths>`` state it."""

    tick: int
    sharps: int
    minor: bool = False

    def __post_init__(self) -> None:
        _check_int("key signature tick", self.tick, 0)
        _check_int("key signature sharps", self.sharps, -7, 7)
        if not isinstance(self.minor, (bool, np.bool_)):
            raise ValueError(f"key signature minor must be a bool, got {self.minor!r}")


class Track:
    """A named instrument part. Attribute assignment is validated."""

    __slots__ = ("name", "program", "is_drum", "colour", "mute", "solo", "notes", "controllers")

    name: str
    program: int
    is_drum: bool
    colour: str
    mute: bool
    solo: bool
    notes: Notes
    controllers: Controllers

    def __init__(
        self,
        name: str = "Track",
        program: int = 0,
        is_drum: bool = False,
        colour: str = TRACK_PALETTE[0],
        mute: bool = False,
        solo: bool = False,
        notes: Notes | Iterable[Note] | None = None,
        controllers: Controllers | None = None,
    ) -> None:
        self.name = name
        self.program = program
        self.is_drum = is_drum
        self.colour = colour
        self.mute = mute
        self.solo = solo
        if notes is None:
            notes = Notes()
        elif not isinstance(notes, Notes):
            notes = Notes.from_notes(notes)
        self.notes = notes
        self.controllers = Controllers() if controllers is None else controllers

    def __setattr__(self, field: str, value: Any) -> None:
        if field == "name":
            if not isinstance(value, str):
                raise ValueError(f"track name must be a string, got {value!r}")
        elif field == "program":
            value = _check_int("program", value, 0, MIDI_MAX)
        elif field in ("is_drum", "mute", "solo"):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{field} must be a bool, got {value!r}")
            value = bool(value)
        elif field == "colour":
            if not isinstance(value, str) or not _COLOUR_RE.match(value):
                raise ValueError(f"colour must look like '#rrggbb', got {value!r}")
        elif field == "notes" and not isinstance(value, Notes):
            raise ValueError(f"notes must be a Notes block, got {type(value).__name__}")
        elif field == "controllers" and not isinstance(value, Controllers):
            raise ValueError(f"controllers must be a Controllers block, got {type(value).__name__}")
        object.__setattr__(self, field, value)

    def copy(self) -> Track:
        # Notes and controllers are immutable, so sharing the blocks is safe.
        return Track(
            self.name,
            self.program,
            self.is_drum,
            self.colour,
            self.mute,
            self.solo,
            self.notes,
            self.controllers,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Track):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __repr__(self) -> str:
        return (
            f"Track({self.name!r}, program={self.program}, drum={self.is_drum}, "
            f"notes={len(self.notes)}, controllers={len(self.controllers)})"
        )


class Song:
    """A multi-track song with tempo, time-signature and key-signature maps.

    Tempo and metre always have an entry at tick 0 (120 bpm and 4/4 when none is given);
    the key map may be empty (no key stated, as in most MIDI files).
    """

    def __init__(
        self,
        title: str = "Untitled",
        ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT,
        tempos: Iterable[TempoChange] | None = None,
        time_signatures: Iterable[TimeSignature] | None = None,
        tracks: Iterable[Track] | None = None,
        key_signatures: Iterable[KeySignature] | None = None,
    ) -> None:
        if not isinstance(title, str):
            raise ValueError(f"title must be a string, got {title!r}")
        self.title = title
        self.ticks_per_beat = _check_int("ticks_per_beat", ticks_per_beat, 1, 32767)
        # list() first: a generator or a dict view is truthy even when empty.
        self.tempos = sorted(
            list(tempos or []) or [TempoChange(0, DEFAULT_BPM)], key=lambda t: t.tick
        )
        self.time_signatures = sorted(
            list(time_signatures or []) or [TimeSignature(0, 4, 4)], key=lambda t: t.tick
        )
        if self.tempos[0].tick != 0:
            self.tempos.insert(0, TempoChange(0, self.tempos[0].bpm))
        if self.time_signatures[0].tick != 0:
            first = self.time_signatures[0]
            self.time_signatures.insert(0, TimeSignature(0, first.numerator, first.denominator))
        self.tracks: list[Track] = list(tracks or [])
        self.key_signatures: list[KeySignature] = sorted(
            list(key_signatures or []), key=lambda k: k.tick
        )

    def copy(self) -> Song:
        return Song(
            self.title,
            self.ticks_per_beat,
            list(self.tempos),
            list(self.time_signatures),
            [t.copy() for t in self.tracks],
            list(self.key_signatures),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Song):
            return NotImplemented
        return (
            self.title == other.title
            and self.ticks_per_beat == other.ticks_per_beat
            and self.tempos == other.tempos
            and self.time_signatures == other.time_signatures
            and self.key_signatures == other.key_signatures
            and self.tracks == other.tracks
        )

    def __repr__(self) -> str:
        return f"Song({self.title!r}, tracks={len(self.tracks)}, notes={self.note_count})"

    def __deepcopy__(self, memo: dict) -> Song:
        return self.copy()

    # -- queries -----------------------------------------------------------------
    @property
    def note_count(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    @property
    def end_tick(self) -> int:
        return max((t.notes.end for t in self.tracks), default=0)

    @property
    def initial_bpm(self) -> float:
        return self.tempos[0].bpm

    def time_signature_at(self, tick: int) -> TimeSignature:
        current = self.time_signatures[0]
        for ts in self.time_signatures:
            if ts.tick > tick:
                break
            current = ts
        return current

    def key_signature_at(self, tick: int) -> KeySignature | None:
        """The key in force at ``tick`` (None before the first one, or when none is set)."""
        current = None
        for key in self.key_signatures:
            if key.tick > tick:
                break
            current = key
        return current

    def ticks_per_bar(self, tick: int = 0) -> int:
        ts = self.time_signature_at(tick)
        return self.ticks_per_beat * 4 * ts.numerator // ts.denominator

    def bar_starts(self, end_tick: int) -> list[int]:
        """Ticks at which bars start, from 0 up to and including end_tick."""
        bars: list[int] = []
        sigs = self.time_signatures
        for k, ts in enumerate(sigs):
            seg_end = sigs[k + 1].tick if k + 1 < len(sigs) else end_tick + 1
            length = max(1, self.ticks_per_beat * 4 * ts.numerator // ts.denominator)
            tick = ts.tick
            while tick < seg_end and tick <= end_tick:
                bars.append(tick)
                tick += length
        return bars

    def tick_to_seconds(self, ticks: np.ndarray | int | float) -> np.ndarray | float:
        """Seconds at the given tick(s), following the tempo map (vectorised)."""
        t = np.asarray(ticks, dtype=np.float64)
        change_ticks, change_secs, sec_per_tick = self._tempo_table()
        seg = np.searchsorted(change_ticks, t, side="right") - 1
        seg = np.clip(seg, 0, len(change_ticks) - 1)
        out = change_secs[seg] + (t - change_ticks[seg]) * sec_per_tick[seg]
        return float(out) if np.ndim(out) == 0 else out

    def seconds_to_tick(self, seconds: np.ndarray | float) -> np.ndarray | float:
        s = np.asarray(seconds, dtype=np.float64)
        change_ticks, change_secs, sec_per_tick = self._tempo_table()
        seg = np.searchsorted(change_secs, s, side="right") - 1
        seg = np.clip(seg, 0, len(change_ticks) - 1)
        out = change_ticks[seg] + (s - change_secs[seg]) / sec_per_tick[seg]
        return float(out) if np.ndim(out) == 0 else out

    def _tempo_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ticks = np.array([t.tick for t in self.tempos], dtype=np.float64)
        sec_per_tick = np.array(
            [60.0 / (t.bpm * self.ticks_per_beat) for t in self.tempos], dtype=np.float64
        )
        secs = np.zeros(len(ticks))
        if len(ticks) > 1:
            secs[1:] = np.cumsum(np.diff(ticks) * sec_per_tick[:-1])
        return ticks, secs, sec_per_tick

    def audible_tracks(self) -> list[int]:
        """Indices of tracks that should sound, honouring mute and solo."""
        soloed = [k for k, t in enumerate(self.tracks) if t.solo]
        if soloed:
            return soloed
        return [k for k, t in enumerate(self.tracks) if not t.mute]


def palette_colour(index: int) -> str:
    return TRACK_PALETTE[index % len(TRACK_PALETTE)]
