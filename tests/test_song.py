"""The song model: validation, columnar notes, range queries, tempo and bar maps."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from studio.core.song import (
    Note,
    Notes,
    Song,
    TempoChange,
    TimeSignature,
    Track,
    palette_colour,
)


def random_notes(n: int, seed: int = 0, span: int = 100_000) -> Notes:
    rng = np.random.default_rng(seed)
    return Notes(
        rng.integers(0, 128, n),
        rng.integers(0, span, n),
        rng.integers(1, 2000, n),
        rng.integers(1, 128, n),
    )


# --- validation names the field ---------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pitch": 128}, "pitch"),
        ({"pitch": -1}, "pitch"),
        ({"start": -5}, "start"),
        ({"duration": 0}, "duration"),
        ({"velocity": 0}, "velocity"),
        ({"velocity": 128}, "velocity"),
        ({"pitch": 60.5}, "pitch"),
        ({"velocity": True}, "velocity"),
    ],
)
def test_note_validation_names_the_field(kwargs: dict, field: str) -> None:
    values = {"pitch": 60, "start": 0, "duration": 10, "velocity": 100} | kwargs
    with pytest.raises(ValueError, match=field):
        Note(**values)


@pytest.mark.parametrize(
    ("column", "value"),
    [("pitch", 200), ("start", -1), ("duration", 0), ("velocity", 0), ("velocity", 300)],
)
def test_notes_block_validation_names_the_column(column: str, value: int) -> None:
    cols = {"pitch": [60, 62], "start": [0, 10], "duration": [5, 5], "velocity": [90, 90]}
    cols[column] = [cols[column][0], value]
    with pytest.raises(ValueError, match=column):
        Notes(**cols)


def test_notes_block_rejects_mismatched_lengths_and_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="same length"):
        Notes([60, 61], [0], [1, 1])
    with pytest.raises(ValueError, match="ids"):
        Notes([60, 61], [0, 0], [1, 1], ids=[3, 3])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 5),
        ("program", 128),
        ("program", -1),
        ("is_drum", "yes"),
        ("mute", 1),
        ("colour", "red"),
        ("colour", "#12345"),
        ("notes", [Note(60, 0, 1)]),
    ],
)
def test_track_assignment_is_validated(field: str, value: object) -> None:
    track = Track()
    with pytest.raises(ValueError, match=field.replace("_", "_")):
        setattr(track, field, value)


def test_song_validation() -> None:
    with pytest.raises(ValueError, match="ticks_per_beat"):
        Song(ticks_per_beat=0)
    with pytest.raises(ValueError, match="title"):
        Song(title=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bpm"):
        TempoChange(0, 0.5)
    with pytest.raises(ValueError, match="denominator"):
        TimeSignature(0, 4, 3)
    with pytest.raises(ValueError, match="numerator"):
        TimeSignature(0, 0, 4)


def test_song_fills_in_tick_zero_and_accepts_any_iterable() -> None:
    song = Song(tempos=(t for t in [TempoChange(960, 90.0)]), time_signatures=iter([]))
    assert song.tempos == [TempoChange(0, 90.0), TempoChange(960, 90.0)]
    assert song.time_signatures == [TimeSignature(0, 4, 4)]
    assert Song(tempos=[]).tempos == [TempoChange(0, 120.0)]


# --- the columnar block -------------------------------------------------------------------
def test_notes_are_sorted_by_start_pitch_id_and_read_only() -> None:
    notes = Notes([64, 60, 62], [10, 10, 0], [1, 2, 3], [1, 2, 3], ids=[7, 8, 9])
    assert notes.start.tolist() == [0, 10, 10]
    assert notes.pitch.tolist() == [62, 60, 64]
    assert notes.ids.tolist() == [9, 8, 7]
    assert notes[1] == Note(60, 10, 2, 2)
    with pytest.raises(ValueError):
        notes.start[0] = 5
    assert list(notes) == [Note(62, 0, 3, 3), Note(60, 10, 2, 2), Note(64, 10, 1, 1)]
    assert notes.end == 12 and notes.next_id() == 10 and notes.max_duration == 3


def test_from_notes_and_empty() -> None:
    notes = Notes.from_notes([Note(60, 5, 5), Note(61, 0, 1, 30)])
    assert notes.to_list() == [Note(61, 0, 1, 30), Note(60, 5, 5)]
    empty = Notes.empty()
    assert len(empty) == 0 and empty.end == 0 and empty.next_id() == 0
    assert empty.indices_in_range(0, 100).tolist() == []


def test_range_query_matches_brute_force_on_100k_notes() -> None:
    notes = random_notes(100_000)
    ends = notes.start + notes.duration
    rng = np.random.default_rng(1)
    for _ in range(200):
        t0 = int(rng.integers(-3000, 103_000))
        t1 = t0 + int(rng.integers(0, 5000))
        expected = np.nonzero((notes.start < t1) & (ends > t0))[0]
        assert np.array_equal(notes.indices_in_range(t0, t1), expected)


def test_range_query_edges_are_half_open() -> None:
    notes = Notes([60], [100], [50])
    assert notes.indices_in_range(150, 200).tolist() == []  # ends at 150: not sounding
    assert notes.indices_in_range(50, 100).tolist() == []  # starts at 100
    assert notes.indices_in_range(149, 150).tolist() == [0]
    assert notes.indices_in_range(120, 120).tolist() == []  # empty window


def test_edits_by_id_keep_ids_and_order() -> None:
    notes = Notes([60, 62, 64], [0, 10, 20], [5, 5, 5], ids=[10, 11, 12])
    assert notes.indices_of_ids([12, 10, 99]).tolist() == [0, 2]
    fewer = notes.without_ids([11])
    assert fewer.ids.tolist() == [10, 12]
    more = fewer.with_notes(Notes([50], [15], [1], ids=[13]))
    assert more.ids.tolist() == [10, 13, 12]
    with pytest.raises(ValueError, match="ids"):
        more.with_notes(Notes([50], [15], [1], ids=[10]))
    moved = notes.replaced(start=np.array([30, 10, 20]))
    assert moved.ids.tolist() == [11, 12, 10]
    with pytest.raises(ValueError, match="unknown"):
        notes.replaced(colour=np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="start"):
        notes.shifted(-5)
    assert notes.shifted(5).start.tolist() == [5, 15, 25]
    assert notes.in_range(8, 12).ids.tolist() == [11]


def test_equality_and_same_notes() -> None:
    a = Notes([60, 61], [0, 1], [1, 1], ids=[0, 1])
    b = Notes([60, 61], [0, 1], [1, 1], ids=[5, 6])
    assert a != b and a.same_notes(b)
    assert a == Notes([61, 60], [1, 0], [1, 1], ids=[1, 0])


# --- tracks and songs ---------------------------------------------------------------------
def test_track_copy_is_independent_but_shares_immutable_notes() -> None:
    track = Track("Lead", 73, colour="#abcdef", notes=[Note(60, 0, 10)])
    twin = track.copy()
    assert twin == track and twin.notes is track.notes
    twin.name = "Other"
    twin.mute = True
    assert track.name == "Lead" and not track.mute


def test_song_copy_and_deepcopy_are_independent() -> None:
    song = Song("S", tracks=[Track("A", notes=[Note(60, 0, 10)])])
    for twin in (song.copy(), copy.deepcopy(song)):
        assert twin == song
        twin.tracks[0].name = "B"
        twin.tracks.append(Track())
        twin.tempos.append(TempoChange(100, 80.0))
        assert song.tracks[0].name == "A" and len(song.tracks) == 1 and len(song.tempos) == 1


def test_song_queries() -> None:
    song = Song(
        tracks=[
            Track(notes=Notes([60, 62], [0, 900], [100, 100])),
            Track(notes=Notes([70], [50], [2000])),
        ]
    )
    assert song.end_tick == 2050 and song.note_count == 3
    assert "notes=3" in repr(song)
    assert Song().end_tick == 0


def test_tempo_map_ticks_and_seconds_invert_each_other() -> None:
    song = Song(ticks_per_beat=480, tempos=[TempoChange(0, 120.0), TempoChange(960, 60.0)])
    assert song.tick_to_seconds(960) == pytest.approx(1.0)
    assert song.tick_to_seconds(1440) == pytest.approx(2.0)
    assert song.seconds_to_tick(2.0) == pytest.approx(1440)
    ticks = np.arange(0, 10_000, 37)
    assert np.allclose(song.seconds_to_tick(song.tick_to_seconds(ticks)), ticks)
    assert song.initial_bpm == 120.0


def test_bars_follow_time_signature_changes() -> None:
    song = Song(
        ticks_per_beat=480, time_signatures=[TimeSignature(0, 4, 4), TimeSignature(3840, 6, 8)]
    )
    assert song.ticks_per_bar(0) == 1920
    assert song.ticks_per_bar(4000) == 1440
    assert song.time_signature_at(3839).numerator == 4
    assert song.bar_starts(7000) == [0, 1920, 3840, 5280, 6720]


def test_audible_tracks_honour_mute_and_solo() -> None:
    song = Song(tracks=[Track("a"), Track("b", mute=True), Track("c")])
    assert song.audible_tracks() == [0, 2]
    song.tracks[1].solo = True
    assert song.audible_tracks() == [1]


def test_palette_cycles() -> None:
    assert palette_colour(0) == palette_colour(8) != palette_colour(1)
