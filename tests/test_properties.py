"""Property tests over random songs: MIDI round trip and piano-roll round trip."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.midi_io import midi_bytes, parse_midi
from studio.core.pianoroll import RollSpec, decode_notes, encode_notes, song_to_roll
from studio.core.project import Project, project_from_dict, project_to_dict
from studio.core.song import (
    PITCH_BEND,
    Controllers,
    KeySignature,
    Notes,
    Song,
    TempoChange,
    TimeSignature,
    Track,
)

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

names = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    min_size=1,
    max_size=20,
)


@st.composite
def note_blocks(draw, max_notes: int = 40, max_tick: int = 20_000) -> Notes:
    n = draw(st.integers(0, max_notes))
    ints = st.lists
    pitch = draw(ints(st.integers(0, 127), min_size=n, max_size=n))
    start = draw(ints(st.integers(0, max_tick), min_size=n, max_size=n))
    duration = draw(ints(st.integers(1, 4000), min_size=n, max_size=n))
    velocity = draw(ints(st.integers(1, 127), min_size=n, max_size=n))
    return Notes(pitch, start, duration, velocity)


@st.composite
def controller_blocks(draw, max_events: int = 30, max_tick: int = 20_000) -> Controllers:
    n = draw(st.integers(0, max_events))
    tick = draw(st.lists(st.integers(0, max_tick), min_size=n, max_size=n))
    number = draw(st.lists(st.integers(0, PITCH_BEND), min_size=n, max_size=n))
    value = [
        draw(st.integers(-8192, 8191)) if c == PITCH_BEND else draw(st.integers(0, 127))
        for c in number
    ]
    return Controllers(tick, number, value)


@st.composite
def songs(draw) -> Song:
    tpb = draw(st.sampled_from([24, 96, 120, 384, 480, 960, 1000, 32767]))
    tempo_ticks = draw(st.lists(st.integers(1, 50_000), max_size=4, unique=True))
    tempos = [
        TempoChange(tick, draw(st.floats(20, 400).map(lambda b: round(b, 2))))
        for tick in [0, *tempo_ticks]
    ]
    sig_ticks = draw(st.lists(st.integers(1, 50_000), max_size=3, unique=True))
    signatures = [
        TimeSignature(
            tick, draw(st.integers(1, 64)), draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64]))
        )
        for tick in [0, *sig_ticks]
    ]
    tracks = [
        Track(
            draw(names),
            draw(st.integers(0, 127)),
            draw(st.booleans()),
            notes=draw(note_blocks()),
            controllers=draw(controller_blocks()),
        )
        for _ in range(draw(st.integers(0, 5)))
    ]
    key_ticks = draw(st.lists(st.integers(0, 50_000), max_size=3, unique=True))
    keys = [KeySignature(t, draw(st.integers(-7, 7)), draw(st.booleans())) for t in key_ticks]
    return Song(draw(names), tpb, tempos, signatures, tracks, keys)


def microseconds(song: Song) -> list[tuple[int, int]]:
    return [(t.tick, round(60_000_000 / t.bpm)) for t in song.tempos]


def fifo_consistent(notes: Notes) -> bool:
    """True unless a note of one pitch lies strictly inside another, which MIDI's
    on/off pairs cannot tell apart from two overlapping notes."""
    for p in np.unique(notes.pitch):
        rows = notes.pitch == p
        start, end = notes.start[rows], notes.start[rows] + notes.duration[rows]
        order = np.lexsort((end, start))
        if np.any(np.diff(end[order]) < 0):
            return False
    return True


def note_set(notes: Notes) -> list[tuple[int, int, int, int]]:
    """Notes as sorted tuples: ids (and so the order of equal notes) are not compared."""
    return sorted(zip(*(c.tolist() for c in notes.columns()[:4]), strict=True))


def note_ends(notes: Notes) -> Counter:
    return Counter(zip(notes.pitch.tolist(), (notes.start + notes.duration).tolist(), strict=True))


def note_starts(notes: Notes) -> Counter:
    columns = (notes.pitch.tolist(), notes.start.tolist(), notes.velocity.tolist())
    return Counter(zip(*columns, strict=True))


@PROPERTY_SETTINGS
@given(songs())
def test_midi_round_trip(song: Song) -> None:
    data = midi_bytes(song)
    back = parse_midi(data, "prop.mid")
    assert back.title == song.title
    assert back.ticks_per_beat == song.ticks_per_beat
    assert microseconds(back) == microseconds(song)
    assert back.time_signatures == song.time_signatures
    assert back.key_signatures == song.key_signatures
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        (t.name, t.program, t.is_drum) for t in song.tracks
    ]
    for a, b in zip(song.tracks, back.tracks, strict=True):
        if fifo_consistent(a.notes):
            assert note_set(b.notes) == note_set(a.notes)
        else:  # every start (with its velocity) and every end survive, per pitch
            assert note_ends(b.notes) == note_ends(a.notes)
            assert note_starts(b.notes) == note_starts(a.notes)
        assert b.controllers == a.controllers
    # Writing what was read gives the same bytes: the format is stable.
    assert midi_bytes(back) == data


@PROPERTY_SETTINGS
@given(songs())
def test_project_round_trip(song: Song) -> None:
    back = project_from_dict(project_to_dict(Project(song))).song
    assert back.title == song.title and back.tempos == song.tempos
    assert back.key_signatures == song.key_signatures
    for a, b in zip(song.tracks, back.tracks, strict=True):
        assert b.notes.same_notes(a.notes) and b.controllers == a.controllers


@st.composite
def grid_notes(draw, n_pitches: int = 24, n_steps: int = 64) -> tuple[Notes, int]:
    """Notes on a 16th grid with no overlap of one pitch (what a roll can hold exactly)."""
    step = draw(st.sampled_from([30, 120, 240]))  # ticks per step (tpb = 4 * step)
    pitches = draw(st.lists(st.integers(0, n_pitches - 1), min_size=1, max_size=6, unique=True))
    pitch, start, duration, velocity = [], [], [], []
    for p in pitches:
        cuts = sorted(draw(st.lists(st.integers(0, n_steps), min_size=2, max_size=12, unique=True)))
        for a, b in pairwise(cuts):
            if draw(st.booleans()):  # a note fills [a, b) or the span stays silent
                pitch.append(40 + p)
                start.append(a * step)
                duration.append((b - a) * step)
                velocity.append(100)
    return Notes(pitch, start, duration, velocity), 4 * step


@PROPERTY_SETTINGS
@given(grid_notes())
def test_piano_roll_round_trip_is_exact_on_the_grid(case: tuple[Notes, int]) -> None:
    notes, tpb = case
    spec = RollSpec(steps_per_beat=4, lowest_pitch=40, n_pitches=24)
    roll = encode_notes(notes, spec, tpb)
    assert decode_notes(roll, spec, tpb).same_notes(notes)


@PROPERTY_SETTINGS
@given(songs())
def test_piano_roll_encoding_is_a_fixed_point_after_one_pass(song: Song) -> None:
    """Off-grid songs quantise once; decoding and re-encoding then changes nothing."""
    spec = RollSpec()
    roll = song_to_roll(song, spec)
    assert roll.shape[:2] == (
        len(song.tracks),
        int(np.ceil(song.end_tick / (song.ticks_per_beat / 4))),
    )
    for k, track in enumerate(song.tracks):
        decoded = decode_notes(roll[k], spec, song.ticks_per_beat)
        again = encode_notes(decoded, spec, song.ticks_per_beat, n_steps=roll.shape[1])
        assert np.array_equal(again, roll[k])
        assert len(decoded) <= len(track.notes)
