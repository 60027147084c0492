"""Song <-> piano-roll tensor encoding: the format the GAN trains on and emits.

A roll is an ``int8`` array ``[tracks, steps, pitches]`` with three cell values:
``OFF`` (0), ``HOLD`` (1: the note goes on sounding) and ``ONSET`` (2: a note starts
here). Keeping onsets apart from held cells is what lets two repeated notes of one
pitch survive the round trip. Everything is vectorised: there is no Python loop per
time step or per note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track, palette_colour

OFF = 0
HOLD = 1
ONSET = 2


@dataclass(frozen=True, slots=True)
class RollSpec:
    """Grid of a piano-roll: time resolution and the pitch rows it covers."""

    steps_per_beat: int = 4
    lowest_pitch: int = 0
    n_pitches: int = 128

    def __post_init__(self) -> None:
        if self.steps_per_beat < 1:
            raise ValueError(f"steps_per_beat must be >= 1, got {self.steps_per_beat}")
        if not 0 <= self.lowest_pitch <= 127:
            raise ValueError(f"lowest_pitch must be in 0..127, got {self.lowest_pitch}")
        if self.n_pitches < 1 or self.lowest_pitch + self.n_pitches > 128:
            raise ValueError(
                "n_pitches must keep the range inside 0..127, "
                f"got {self.lowest_pitch}+{self.n_pitches}"
            )

    @property
    def highest_pitch(self) -> int:
        return self.lowest_pitch + self.n_pitches - 1

    def ticks_per_step(self, ticks_per_beat: int) -> float:
        return ticks_per_beat / self.steps_per_beat


def encode_notes(
    notes: Notes,
    spec: RollSpec,
    ticks_per_beat: int,
    n_steps: int | None = None,
    start_tick: int = 0,
) -> np.ndarray:
    """Encode one track's notes to ``[steps, pitches]``.

    Starts and ends are rounded to the nearest step; a note keeps at least one step.
    Notes outside the pitch range or the time window are left out. Where a note would
    overlap a later note of the same pitch, the later onset wins.
    """
    tps = spec.ticks_per_step(ticks_per_beat)
    start = np.rint((notes.start - start_tick) / tps).astype(np.int64)
    end = np.rint((notes.start + notes.duration - start_tick) / tps).astype(np.int64)
    end = np.maximum(end, start + 1)
    if n_steps is None:
        n_steps = int(end.max()) if len(end) else 0
    roll = np.zeros((n_steps, spec.n_pitches), dtype=np.int8)
    row = notes.pitch.astype(np.int64) - spec.lowest_pitch
    keep = (row >= 0) & (row < spec.n_pitches) & (end > 0) & (start < n_steps)
    if not keep.any():
        return roll
    start, end, row = start[keep], end[keep], row[keep]
    # A note cut by the window's left edge continues (HOLD) rather than restarting.
    starts_inside = start >= 0
    start = np.clip(start, 0, n_steps)
    end = np.clip(end, 0, n_steps)
    # Fill each note's cells directly: work is proportional to the cells notes cover,
    # not to the size of the (mostly empty) grid.
    lengths = end - start
    total = int(lengths.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    roll[np.repeat(start, lengths) + offsets, np.repeat(row, lengths)] = HOLD
    roll[start[starts_inside], row[starts_inside]] = ONSET
    return roll


def decode_notes(
    roll: np.ndarray,
    spec: RollSpec,
    ticks_per_beat: int,
    velocity: int | np.ndarray = 100,
    start_tick: int = 0,
) -> Notes:
    """Decode ``[steps, pitches]`` to notes.

    A note starts at an ONSET cell, or at a HOLD cell with nothing sounding before it
    (so that raw generator output without onsets still decodes), and lasts while the
    following cells are HOLD. ``velocity`` may be a scalar or a ``[steps, pitches]``
    array read at each note's onset.
    """
    roll = np.asarray(roll)
    n_pitches = roll.shape[1]
    if n_pitches != spec.n_pitches:
        raise ValueError(f"roll has {n_pitches} pitch rows but the spec has {spec.n_pitches}")
    # Work on the sounding cells only (a roll is mostly empty): list them by pitch, then
    # time, and find where runs of consecutive cells start and end.
    cells = roll.astype(np.int8, copy=False)
    flat = np.flatnonzero(cells > 0)
    if not len(flat):
        return Notes()
    step_all, pitch_all = np.divmod(flat, n_pitches)
    # flat is time-major already, so a stable sort by pitch gives (pitch, time) order;
    # int16 keys let numpy use its radix sort.
    order = np.argsort(pitch_all.astype(np.int16), kind="stable")
    step_all, pitch_all = step_all[order], pitch_all[order]
    onset = cells[step_all, pitch_all] == ONSET
    continues = np.zeros(len(flat), dtype=bool)  # cell directly follows a sounding cell
    continues[1:] = (pitch_all[1:] == pitch_all[:-1]) & (step_all[1:] == step_all[:-1] + 1)
    # A note starts at an ONSET or after silence, and ends before silence or an ONSET.
    first = onset | ~continues
    last = np.ones(len(flat), dtype=bool)
    last[:-1] = first[1:]
    pitch_row, start_step = pitch_all[first], step_all[first]
    end_step = step_all[last] + 1
    tps = spec.ticks_per_step(ticks_per_beat)
    start_ticks = np.rint(start_step * tps).astype(np.int64) + start_tick
    end_ticks = np.rint(end_step * tps).astype(np.int64) + start_tick
    if np.ndim(velocity) == 0:
        vel = np.full(len(start_step), int(velocity), dtype=np.int64)
    else:
        vel = np.clip(np.rint(np.asarray(velocity)[start_step, pitch_row]), 1, 127).astype(np.int64)
    return Notes(
        pitch_row + spec.lowest_pitch,
        start_ticks,
        np.maximum(end_ticks - start_ticks, 1),
        vel,
    )


def song_to_roll(
    song: Song,
    spec: RollSpec,
    track_indices: Sequence[int] | None = None,
    start_tick: int = 0,
    n_steps: int | None = None,
) -> np.ndarray:
    """Encode a song's tracks to ``[tracks, steps, pitches]``.

    Without ``n_steps`` the roll covers the song up to its last note.
    """
    indices = list(range(len(song.tracks))) if track_indices is None else list(track_indices)
    tps = spec.ticks_per_step(song.ticks_per_beat)
    if n_steps is None:
        n_steps = int(np.ceil(max(song.end_tick - start_tick, 0) / tps))
    if not indices:
        return np.zeros((0, n_steps, spec.n_pitches), dtype=np.int8)
    return np.stack(
        [
            encode_notes(song.tracks[k].notes, spec, song.ticks_per_beat, n_steps, start_tick)
            for k in indices
        ]
    )


def roll_to_song(
    roll: np.ndarray,
    spec: RollSpec,
    ticks_per_beat: int = 480,
    track_templates: Sequence[Track] | None = None,
    bpm: float = 120.0,
    time_signature: tuple[int, int] = (4, 4),
    title: str = "Generated",
    velocity: int | np.ndarray = 100,
) -> Song:
    """Decode ``[tracks, steps, pitches]`` to a Song.

    ``track_templates`` give each track's name, program, drum flag and colour; their
    notes are ignored. ``velocity`` may be a scalar or a ``[tracks, steps, pitches]`` array.
    """
    roll = np.asarray(roll)
    if roll.ndim != 3:
        raise ValueError(f"roll must be [tracks, steps, pitches], got shape {roll.shape}")
    tracks: list[Track] = []
    for k in range(roll.shape[0]):
        vel = velocity if np.ndim(velocity) == 0 else np.asarray(velocity)[k]
        notes = decode_notes(roll[k], spec, ticks_per_beat, vel)
        if track_templates is not None and k < len(track_templates):
            template = track_templates[k].copy()
            template.notes = notes
            tracks.append(template)
        else:
            tracks.append(Track(f"Track {k + 1}", colour=palette_colour(k), notes=notes))
    return Song(
        title,
        ticks_per_beat,
        [TempoChange(0, float(bpm))],
        [TimeSignature(0, *time_signature)],
        tracks,
    )


def frames_and_onsets(roll: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a roll into two boolean planes: sounding cells and onset cells."""
    roll = np.asarray(roll)
    return roll > 0, roll == ONSET


def roll_from_planes(frames: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """Inverse of `frames_and_onsets`; an onset implies the cell sounds."""
    out = np.where(np.asarray(frames, dtype=bool), HOLD, OFF).astype(np.int8)
    out[np.asarray(onsets, dtype=bool)] = ONSET
    return out
