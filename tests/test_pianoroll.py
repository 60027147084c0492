"""Piano-roll encoding: the tensor the GAN trains on and emits."""

from __future__ import annotations

import time

import numpy as np
import pytest

from studio.core.pianoroll import (
    HOLD,
    OFF,
    ONSET,
    RollSpec,
    decode_notes,
    encode_notes,
    frames_and_onsets,
    roll_from_planes,
    roll_to_song,
    song_to_roll,
)
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track

TPB = 480
STEP = TPB // 4  # a 16th note at the default 4 steps per beat


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="steps_per_beat"):
        RollSpec(steps_per_beat=0)
    with pytest.raises(ValueError, match="lowest_pitch"):
        RollSpec(lowest_pitch=128)
    with pytest.raises(ValueError, match="n_pitches"):
        RollSpec(lowest_pitch=100, n_pitches=40)
    assert RollSpec(lowest_pitch=36, n_pitches=48).highest_pitch == 83


def test_repeated_notes_of_one_pitch_stay_apart() -> None:
    notes = Notes([60, 60], [0, 2 * STEP], [2 * STEP, 2 * STEP])
    roll = encode_notes(notes, RollSpec(), TPB)
    assert roll[:, 60].tolist() == [ONSET, HOLD, ONSET, HOLD]
    assert decode_notes(roll, RollSpec(), TPB).same_notes(notes)


def test_encoding_rounds_to_steps_and_keeps_at_least_one_step() -> None:
    notes = Notes([60, 62], [STEP + 10, 0], [5, 3 * STEP - 20])
    roll = encode_notes(notes, RollSpec(), TPB)
    assert roll[:, 60].tolist() == [OFF, ONSET, OFF]
    assert roll[:, 62].tolist() == [ONSET, HOLD, HOLD]


def test_pitch_range_and_window_crop() -> None:
    spec = RollSpec(lowest_pitch=48, n_pitches=24)
    notes = Notes([40, 50, 71, 72], [0, 0, 4 * STEP, 0], [STEP, 8 * STEP, STEP, STEP])
    roll = encode_notes(notes, spec, TPB, n_steps=4, start_tick=2 * STEP)
    assert roll.shape == (4, 24)
    # The note cut by the window's left edge continues (HOLD), it does not restart.
    assert roll[:, 50 - 48].tolist() == [HOLD, HOLD, HOLD, HOLD]
    assert roll[:, 71 - 48].tolist() == [OFF, OFF, ONSET, OFF]
    assert roll.sum() == 4 * HOLD + ONSET  # pitches 40 and 72 lie outside the range
    decoded = decode_notes(roll, spec, TPB, start_tick=2 * STEP)
    assert decoded.pitch.tolist() == [50, 71]
    assert decoded.start.tolist() == [2 * STEP, 4 * STEP]


def test_decode_reads_hold_without_onset_as_a_note_and_velocity_planes() -> None:
    spec = RollSpec(lowest_pitch=60, n_pitches=2)
    roll = np.array([[HOLD, OFF], [HOLD, ONSET], [OFF, ONSET], [OFF, HOLD]], dtype=np.int8)
    velocity = np.full(roll.shape, 64.0)
    velocity[1, 1] = 200  # clipped
    notes = decode_notes(roll, spec, TPB, velocity=velocity)
    assert [(x.pitch, x.start // STEP, x.duration // STEP, x.velocity) for x in notes] == [
        (60, 0, 2, 64),
        (61, 1, 1, 127),
        (61, 2, 2, 64),
    ]


def test_decode_rejects_wrong_pitch_rows() -> None:
    with pytest.raises(ValueError, match="pitch rows"):
        decode_notes(np.zeros((4, 10), np.int8), RollSpec(), TPB)


def test_song_round_trip_with_templates_and_planes() -> None:
    rng = np.random.default_rng(3)
    tracks = []
    for k in range(3):
        pitch = rng.integers(40, 80, 300)
        steps = rng.integers(0, 2000, 300)
        # one note per (pitch, step) and no overlaps: end before the next onset of that pitch
        key = pitch * 10_000 + steps
        _, first = np.unique(key, return_index=True)
        pitch, steps = pitch[first], steps[first]
        order = np.lexsort((steps, pitch))
        pitch, steps = pitch[order], steps[order]
        gap = np.diff(steps, append=10**9)
        gap[np.diff(pitch, append=-1) != 0] = 8
        length = np.minimum(rng.integers(1, 8, len(pitch)), gap)
        notes = Notes(pitch, steps * STEP, length * STEP, np.full(len(pitch), 100))
        tracks.append(Track(f"T{k}", 10 * k, k == 2, "#123456", notes=notes))
    song = Song("s", TPB, [TempoChange(0, 77.0)], [TimeSignature(0, 3, 4)], tracks)
    spec = RollSpec()
    roll = song_to_roll(song, spec)
    assert roll.dtype == np.int8 and roll.shape == (3, int(np.ceil(song.end_tick / STEP)), 128)
    frames, onsets = frames_and_onsets(roll)
    assert np.array_equal(roll_from_planes(frames, onsets), roll)
    back = roll_to_song(roll, spec, TPB, song.tracks, bpm=77.0, time_signature=(3, 4))
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        (t.name, t.program, t.is_drum) for t in tracks
    ]
    for a, b in zip(tracks, back.tracks, strict=True):
        assert b.notes.same_notes(a.notes)
    assert back.tempos == [TempoChange(0, 77.0)]
    assert back.time_signatures == [TimeSignature(0, 3, 4)]


def test_song_to_roll_subset_window_and_empty() -> None:
    song = Song(
        tracks=[Track(notes=Notes([60], [0], [STEP])), Track(notes=Notes([62], [STEP], [STEP]))]
    )
    roll = song_to_roll(song, RollSpec(), track_indices=[1], start_tick=STEP, n_steps=16)
    assert roll.shape == (1, 16, 128) and roll[0, 0, 62] == ONSET
    assert song_to_roll(song, RollSpec(), track_indices=[]).shape == (0, 2, 128)
    untitled = roll_to_song(np.zeros((2, 8, 128), np.int8), RollSpec())
    assert [t.name for t in untitled.tracks] == ["Track 1", "Track 2"]
    with pytest.raises(ValueError, match="tracks, steps, pitches"):
        roll_to_song(np.zeros((8, 128)), RollSpec())


def test_coarser_grid_and_odd_resolution() -> None:
    spec = RollSpec(steps_per_beat=3)  # triplet eighths
    notes = Notes([60, 64], [0, 160], [160, 320])
    roll = encode_notes(notes, spec, TPB)
    assert decode_notes(roll, spec, TPB).same_notes(notes)
    spec96 = RollSpec(steps_per_beat=4)
    notes96 = Notes([60], [24 * 3], [24])
    assert decode_notes(encode_notes(notes96, spec96, 96), spec96, 96).same_notes(notes96)


def test_encode_and_decode_are_vectorised_fast_enough_for_100k_notes() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    notes = Notes(
        rng.integers(0, 128, n), rng.integers(0, 40_000, n) * STEP, rng.integers(1, 16, n) * STEP
    )
    t0 = time.perf_counter()
    roll = encode_notes(notes, RollSpec(), TPB)
    decoded = decode_notes(roll, RollSpec(), TPB)
    elapsed = time.perf_counter() - t0
    assert len(decoded) > 0.9 * n * 0.9  # overlaps of one pitch merge a few notes
    # A Python loop per step or per note would take tens of seconds on this grid.
    assert elapsed < 5.0


def reference_decode(roll: np.ndarray) -> list[tuple[int, int, int]]:
    """The decoding rule written as the obvious loop: (pitch row, start step, end step)."""
    notes = []
    n_steps, n_pitches = roll.shape
    for p in range(n_pitches):
        start = None
        for t in range(n_steps + 1):
            cell = roll[t, p] if t < n_steps else OFF
            if start is not None and cell in (OFF, ONSET):
                notes.append((p, start, t))
                start = None
            if cell != OFF and start is None:
                start = t
    return sorted(notes)


def test_decode_matches_the_reference_loop_on_random_rolls() -> None:
    rng = np.random.default_rng(11)
    spec_for = {}
    for _ in range(300):
        steps, pitches = int(rng.integers(1, 30)), int(rng.integers(1, 8))
        roll = rng.choice(np.array([OFF, OFF, HOLD, HOLD, ONSET], np.int8), size=(steps, pitches))
        spec = spec_for.setdefault(pitches, RollSpec(lowest_pitch=0, n_pitches=pitches))
        notes = decode_notes(roll, spec, 4)  # 1 tick per step
        got = sorted(
            zip(
                notes.pitch.tolist(),
                notes.start.tolist(),
                (notes.start + notes.duration).tolist(),
                strict=True,
            )
        )
        assert got == reference_decode(roll)
