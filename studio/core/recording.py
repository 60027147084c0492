"""Recording from a MIDI keyboard, the pure part: timed key events become notes.

`TakeRecorder` turns note-on / note-off / sustain-pedal events, each stamped with a song
tick, into a `Notes` block (one take). `quantize_take` is the quantize-on-input option.
`StepInput` is the cursor of step input: each key entered at the cursor with the snap
length, the cursor advancing when the keys are let go (keys held together form a chord).

No Qt, no MIDI library: the UI feeds plain numbers, so all of it is tested without a
keyboard, a clock or a sound card.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.core.quantize import blend, snap_nearest_array
from studio.core.song import MIDI_MAX, Note, Notes

SUSTAIN_CC = 64
SUSTAIN_THRESHOLD = 64  # MIDI convention: CC64 values >= 64 mean the pedal is down


@dataclass
class _Held:
    start: int
    velocity: int


@dataclass
class TakeRecorder:
    """Collects the notes of one take that starts at `start_tick`.

    Events stamped before the start (a key struck a little early, during the count-in)
    count as played on the start: DAWs do the same, so an anticipated downbeat is kept.
    With the sustain pedal down a released key keeps sounding until the pedal is lifted,
    so the pedal is baked into the note lengths (a piano roll has no pedal lane).

    With a `loop` (start, end) playback jumps back from its end to its start: each pass
    adds its notes (overdub), and a key held across the jump ends at the loop's end.
    """

    start_tick: int
    loop: tuple[int, int] | None = None
    # Keys physically down, and keys let go while the pedal holds them:
    _held: dict[int, _Held] = field(default_factory=dict, init=False, repr=False)
    _sustained: dict[int, _Held] = field(default_factory=dict, init=False, repr=False)
    _done: list[Note] = field(default_factory=list, init=False, repr=False)
    _pedal: bool = field(default=False, init=False)
    _last_tick: int = field(default=0, init=False, repr=False)
    _floor: int = field(default=0, init=False, repr=False)  # no event is earlier than this
    _drained: int = field(default=0, init=False, repr=False)  # finished notes handed out

    def __post_init__(self) -> None:
        self.start_tick = max(0, int(self.start_tick))
        self._last_tick = self.start_tick
        self._floor = self.start_tick
        if self.loop is not None:
            self._floor = max(0, min(self.start_tick, int(self.loop[0])))

    # -- events ------------------------------------------------------------------------
    def note_on(self, pitch: int, velocity: int, tick: float) -> None:
        if velocity <= 0:  # running-status keyboards send note-on 0 for note-off
            self.note_off(pitch, tick)
            return
        if not 0 <= pitch <= MIDI_MAX:
            return
        at = self._tick(tick)
        # The same key struck again (or again under the pedal) ends the previous note.
        for pool in (self._held, self._sustained):
            if pitch in pool:
                self._close(pitch, pool.pop(pitch), at)
        self._held[pitch] = _Held(at, min(MIDI_MAX, int(velocity)))

    def note_off(self, pitch: int, tick: float) -> None:
        held = self._held.pop(pitch, None)
        if held is None:  # a key that was down before recording started
            return
        at = self._tick(tick)
        if self._pedal:
            self._sustained[pitch] = held
        else:
            self._close(pitch, held, at)

    def sustain(self, value: int, tick: float) -> None:
        """CC64: pedal down (value >= 64) or up; lifting it ends the notes it held."""
        down = int(value) >= SUSTAIN_THRESHOLD
        at = self._tick(tick)
        if self._pedal and not down:
            for pitch, held in list(self._sustained.items()):
                self._close(pitch, held, at)
            self._sustained.clear()
        self._pedal = down

    # -- results ---------------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Notes recorded so far, the ones still sounding included."""
        return len(self._done) + len(self._held) + len(self._sustained)

    @property
    def sounding(self) -> tuple[int, ...]:
        return tuple(sorted({*self._held, *self._sustained}))

    def notes(self, end_tick: float | None = None) -> Notes:
        """Everything so far; notes still sounding end at `end_tick` (default: last event)."""
        end = self._last_tick if end_tick is None else max(self._floor, round(float(end_tick)))
        notes = list(self._done)
        for pool in (self._held, self._sustained):
            for pitch, held in pool.items():
                notes.append(Note(pitch, held.start, self._length(held, end), held.velocity))
        return Notes.from_notes(notes)

    def drain(self) -> Notes:
        """The notes finished since the last drain (the UI adds them to the song as they
        are played, so the take appears while it is recorded)."""
        fresh = self._done[self._drained :]
        self._drained = len(self._done)
        return Notes.from_notes(fresh)

    def finish(self, end_tick: float | None = None) -> Notes:
        """End the take: the notes not drained yet, those still sounding ending at
        `end_tick` (default: the last event)."""
        end = self._last_tick if end_tick is None else max(self._floor, round(float(end_tick)))
        for pool in (self._held, self._sustained):
            for pitch, held in pool.items():
                self._close(pitch, held, end)
            pool.clear()
        return self.drain()

    def _tick(self, tick: float) -> int:
        at = max(self._floor, round(float(tick)))
        self._last_tick = at
        return at

    def _length(self, held: _Held, end: int) -> int:
        if end < held.start and self.loop is not None and held.start < self.loop[1]:
            end = int(self.loop[1])  # held across the jump back: it ends with the loop
        return max(1, end - held.start)

    def _close(self, pitch: int, held: _Held, end: int) -> None:
        self._done.append(Note(pitch, held.start, self._length(held, end), held.velocity))


def quantize_take(notes: Notes, grid: int, strength: float = 1.0) -> Notes:
    """Quantize on input: note starts pulled to the nearest grid line, ends kept in place.

    Keeping the end where the key was released (rather than the length) means a note
    pulled later gets shorter, never overlapping the next note played legato; every
    note keeps at least one tick.
    """
    if grid < 1:
        raise ValueError(f"quantize grid must be >= 1 tick, got {grid}")
    if not len(notes):
        return notes
    end = notes.start + notes.duration
    start = np.maximum(0, blend(notes.start, snap_nearest_array(notes.start, grid), strength))
    duration = np.maximum(1, end - start)
    return Notes(notes.pitch, start, duration, notes.velocity, notes.ids)


@dataclass
class StepInput:
    """Step input: keys enter notes of `step` ticks at `cursor`, then the cursor advances.

    A key pressed while another is still down joins the chord at the same position; the
    cursor moves on by one step when the last key of the chord is released.
    """

    cursor: int
    step: int
    _down: set[int] = field(default_factory=set, init=False, repr=False)
    _chord: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.step < 1:
            raise ValueError(f"step length must be >= 1 tick, got {self.step}")
        self.cursor = max(0, int(self.cursor))

    @property
    def in_chord(self) -> bool:
        """Keys have been entered at the cursor and it has not advanced yet."""
        return bool(self._chord)

    def press(self, pitch: int, velocity: int) -> Note | None:
        """A key went down: the note to enter (None for a repeated key in the chord)."""
        if velocity <= 0:
            self.release(pitch)
            return None
        if not 0 <= pitch <= MIDI_MAX:
            return None
        self._down.add(pitch)
        if pitch in self._chord:
            return None
        self._chord.add(pitch)
        return Note(pitch, self.cursor, self.step, min(MIDI_MAX, int(velocity)))

    def release(self, pitch: int) -> bool:
        """A key went up; True when that ended a chord and the cursor advanced."""
        if pitch not in self._down:
            return False
        self._down.discard(pitch)
        if self._down or not self._chord:
            return False
        self._chord.clear()
        self.cursor += self.step
        return True

    def rest(self) -> None:
        """Skip one step (a rest), as the Right arrow / space does in notation programs."""
        self._chord.clear()
        self._down.clear()
        self.cursor += self.step

    def back(self) -> None:
        self._chord.clear()
        self._down.clear()
        self.cursor = max(0, self.cursor - self.step)

    def move_to(self, tick: int) -> None:
        self._chord.clear()
        self._down.clear()
        self.cursor = max(0, int(tick))
