"""Pure edit commands: each applies without Qt and its inverse restores the song exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import edits
from studio.core.quantize import SNAP_DIVISIONS, SnapDivision, snap_nearest
from studio.core.scales import out_of_scale_ids, pitch_name, scale_mask
from studio.core.song import Note, Notes, Song, Track


def make_song() -> Song:
    melody = Notes([60, 62, 64, 65], [0, 480, 960, 1440], [480, 480, 480, 480], [80, 90, 100, 110])
    bass = Notes([36, 43], [0, 960], [960, 960])
    return Song("t", tracks=[Track("Melody", notes=melody), Track("Bass", program=32, notes=bass)])


def notes_of(song: Song, track: int = 0) -> list[Note]:
    return song.tracks[track].notes.to_list()


def roundtrip(song: Song, command: edits.Command) -> Song:
    """Apply, check the original is untouched and the inverse restores it; return new song."""
    before = song.copy()
    new, inverse = edits.apply(song, command)
    assert song == before, "apply must not mutate its input"
    restored, _ = edits.apply(new, inverse)
    assert restored == before
    return new


def test_add_assigns_fresh_ids_and_undo_removes():
    song = make_song()
    new = roundtrip(song, edits.AddNotes(0, Notes([72], [0], [240], ids=[0])))
    block = new.tracks[0].notes
    assert len(block) == 5
    assert sorted(block.ids.tolist()) == [0, 1, 2, 3, 4]
    assert Note(72, 0, 240, 100) in block.to_list()


def test_delete_and_undo():
    song = make_song()
    new = roundtrip(song, edits.DeleteNotes(0, [1, 2]))
    assert [n.pitch for n in notes_of(new)] == [60, 65]


def test_move_group_clamps_and_keeps_intervals():
    song = make_song()
    new = roundtrip(song, edits.MoveNotes(0, [0, 1, 2, 3], ticks=-5000, semitones=200))
    pitches = [n.pitch for n in notes_of(new)]
    assert max(pitches) == 127
    assert np.diff(pitches).tolist() == [2, 2, 1]  # intervals kept, nothing collapsed
    assert notes_of(new)[0].start == 0


@pytest.mark.parametrize("semitones", [-200, -12, -1, 1, 12, 200])
def test_transpose_never_collapses(semitones):
    song = Song(tracks=[Track(notes=Notes([0, 5, 127], [0, 0, 0], [10, 10, 10]))])
    new, _ = edits.apply(song, edits.Transpose(0, [1], semitones))  # only the middle note
    assert 0 <= notes_of(new)[1].pitch <= 127
    whole = Song(tracks=[Track(notes=Notes([10, 20, 30], [0, 0, 0], [10, 10, 10]))])
    moved, _inverse = edits.apply(whole, edits.Transpose(0, [0, 1, 2], semitones))
    pitches = sorted(n.pitch for n in notes_of(moved))
    assert np.diff(pitches).tolist() == [10, 10]
    assert pitches[0] >= 0 and pitches[-1] <= 127


def test_clamped_move_at_edge_is_noop():
    song = Song(tracks=[Track(notes=Notes([127], [0], [10]))])
    primitive = edits.resolve(song, edits.Transpose(0, [0], 1))
    assert edits.is_noop(primitive)


def test_resize_either_edge_keeps_min_length():
    song = make_song()
    new = roundtrip(song, edits.ResizeNotes(0, [0], "end", -10_000))
    assert notes_of(new)[0].duration == 1
    new = roundtrip(song, edits.ResizeNotes(0, [1], "start", 100))
    n = next(x for x in notes_of(new) if x.pitch == 62)
    assert (n.start, n.duration) == (580, 380)
    new = roundtrip(song, edits.ResizeNotes(0, [1], "start", -10_000))
    n = next(x for x in notes_of(new) if x.pitch == 62)
    assert (n.start, n.end) == (0, 960)
    new = roundtrip(song, edits.ResizeNotes(0, [1], "start", 10_000))
    n = next(x for x in notes_of(new) if x.pitch == 62)
    assert n.duration == 1 and n.end == 960


def test_velocity_set_per_note_and_scale_clamps():
    song = make_song()
    new = roundtrip(song, edits.SetVelocity(0, [3, 0], np.array([5, 127])))
    assert [n.velocity for n in notes_of(new)] == [127, 90, 100, 5]
    new = roundtrip(song, edits.ScaleVelocity(0, [0, 1, 2, 3], factor=2.0))
    assert [n.velocity for n in notes_of(new)] == [127, 127, 127, 127]
    new = roundtrip(song, edits.ScaleVelocity(0, [0], factor=0.0))
    assert notes_of(new)[0].velocity == 1


def test_paste_at_position_with_fresh_ids_into_drum_track():
    song = make_song()
    song.tracks[1].is_drum = True
    clip = Notes([60, 64], [960, 1200], [100, 100], ids=[0, 1])
    new = roundtrip(song, edits.Paste(1, clip, at=3000))
    added = [n for n in notes_of(new, 1) if n.start >= 3000]
    assert [(n.pitch, n.start) for n in added] == [(60, 3000), (64, 3240)]
    assert len(set(new.tracks[1].notes.ids.tolist())) == 4


def test_duplicate_after_span():
    song = make_song()
    new = roundtrip(song, edits.Duplicate(0, [0, 1]))
    starts = sorted(n.start for n in notes_of(new) if n.pitch in (60, 62))
    assert starts == [0, 480, 960, 1440]


def test_quantize_starts_and_lengths_with_strength():
    song = Song(tracks=[Track(notes=Notes([60, 61], [110, 250], [100, 290]))])
    full = roundtrip(song, edits.Quantize(0, [0, 1], grid=120, strength=1.0))
    assert [n.start for n in notes_of(full)] == [120, 240]
    half = roundtrip(song, edits.Quantize(0, [0, 1], grid=120, strength=0.5))
    assert [n.start for n in notes_of(half)] == [115, 245]
    lengths = roundtrip(song, edits.Quantize(0, [0, 1], grid=120, starts=False, lengths=True))
    assert [n.duration for n in notes_of(lengths)] == [120, 240]
    with pytest.raises(ValueError, match="strength"):
        edits.Quantize(0, [0], grid=120, strength=2.0)


def test_nudge_stops_at_zero():
    song = make_song()
    new = roundtrip(song, edits.Nudge(0, [0, 1], -240))
    assert [n.start for n in notes_of(new)][:2] == [0, 480]  # group clamped: already at 0
    new = roundtrip(song, edits.Nudge(0, [1], -240))
    assert sorted(n.start for n in notes_of(new)) == [0, 240, 960, 1440]


def test_legato_fills_gaps_to_next_start():
    song = Song(tracks=[Track(notes=Notes([60, 64, 62, 65], [0, 0, 500, 1000], [10, 10, 10, 10]))])
    new = roundtrip(song, edits.Legato(0, [0, 1, 2, 3]))
    assert [(n.start, n.duration) for n in notes_of(new)] == [
        (0, 500),
        (0, 500),
        (500, 500),
        (1000, 10),
    ]


def test_humanize_is_seeded_and_bounded():
    song = make_song()
    a, _ = edits.apply(song, edits.Humanize(0, [0, 1, 2, 3], timing=20, velocity=10, seed=7))
    b, _ = edits.apply(song, edits.Humanize(0, [0, 1, 2, 3], timing=20, velocity=10, seed=7))
    assert a == b
    roundtrip(song, edits.Humanize(0, [0, 1, 2, 3], timing=20, velocity=10, seed=7))
    for old, new in zip(
        sorted(notes_of(song), key=lambda n: n.pitch),
        sorted(notes_of(a), key=lambda n: n.pitch),
        strict=True,
    ):
        assert abs(old.start - new.start) <= 20 and abs(old.velocity - new.velocity) <= 10


def test_replace_notes_in_range():
    song = make_song()
    generated = Notes([70, 71], [500, 700], [100, 100])
    new = roundtrip(song, edits.ReplaceNotesInRange(0, 480, 1440, generated))
    assert [(n.pitch, n.start) for n in notes_of(new)] == [
        (60, 0),
        (70, 500),
        (71, 700),
        (65, 1440),
    ]


def test_track_commands_roundtrip():
    song = make_song()
    new = roundtrip(song, edits.InsertTracks((1,), (Track("Alto"),)))
    assert [t.name for t in new.tracks] == ["Melody", "Alto", "Bass"]
    new = roundtrip(song, edits.RemoveTracks((0,)))
    assert [t.name for t in new.tracks] == ["Bass"]
    new = roundtrip(song, edits.MoveTrack(0, 1))
    assert [t.name for t in new.tracks] == ["Bass", "Melody"]
    for name, value in [
        ("name", "Lead"),
        ("mute", True),
        ("solo", True),
        ("colour", "#123456"),
        ("program", 40),
        ("is_drum", True),
    ]:
        new = roundtrip(song, edits.SetTrackProperty(0, name, value))
        assert getattr(new.tracks[0], name) == value


def test_bad_commands_raise_clear_errors():
    song = make_song()
    with pytest.raises(ValueError, match="colour"):
        edits.apply(song, edits.SetTrackProperty(0, "colour", "red"))
    with pytest.raises(IndexError, match="track 9"):
        edits.apply(song, edits.DeleteNotes(9, [0]))
    with pytest.raises(ValueError, match="track property"):
        edits.SetTrackProperty(0, "volume", 3)
    with pytest.raises(ValueError, match="edge"):
        edits.ResizeNotes(0, [0], "middle", 3)


def test_compose_folds_drag_steps():
    song = make_song()
    first = edits.resolve(song, edits.MoveNotes(0, [0], 10, 1))
    mid, inv1 = edits.apply(song, first)
    second = edits.resolve(mid, edits.MoveNotes(0, [0], 10, 1))
    end, inv2 = edits.apply(mid, second)
    forward = edits.compose(first, second)
    backward = edits.compose(inv2, inv1)
    assert edits.apply(song, forward)[0] == end
    assert edits.apply(end, backward)[0] == song


def test_scales_and_snap():
    mask = scale_mask(0, "Major")
    assert mask[60] and mask[62] and not mask[61]
    song = Song(tracks=[Track(notes=Notes([60, 61, 66], [0, 0, 0], [1, 1, 1]))])
    assert out_of_scale_ids(song.tracks[0].notes, 0, "Major").tolist() == [1, 2]
    assert pitch_name(60) == "C4"
    assert SnapDivision(16).ticks(480) == 120
    assert SnapDivision(8, triplet=True).ticks(480) == 160
    assert snap_nearest(179, 120) == 120 and snap_nearest(181, 120) == 240
    assert {d.label for d in SNAP_DIVISIONS} >= {"1/1", "1/32", "1/8 T"}


# --------------------------------------------------------------------------------------
# Property: any sequence of edits, then undo all in reverse, gives back the original.
# --------------------------------------------------------------------------------------
def _command(draw: st.DrawFn, song: Song) -> edits.Command:
    track = draw(st.integers(0, len(song.tracks) - 1))
    notes = song.tracks[track].notes
    ids = notes.ids
    chosen = (
        draw(st.lists(st.sampled_from(ids.tolist()), max_size=6, unique=True)) if len(ids) else []
    )
    kind = draw(st.integers(0, 15))
    small = st.integers(-2000, 2000)
    if kind == 0:
        n = draw(st.integers(1, 4))
        return edits.AddNotes(
            track,
            Notes(
                draw(st.lists(st.integers(0, 127), min_size=n, max_size=n)),
                draw(st.lists(st.integers(0, 5000), min_size=n, max_size=n)),
                draw(st.lists(st.integers(1, 2000), min_size=n, max_size=n)),
            ),
        )
    if kind == 1:
        return edits.DeleteNotes(track, chosen)
    if kind == 2:
        return edits.MoveNotes(track, chosen, draw(small), draw(st.integers(-140, 140)))
    if kind == 3:
        return edits.Transpose(track, chosen, draw(st.sampled_from([-12, -1, 1, 12, 130])))
    if kind == 4:
        return edits.ResizeNotes(
            track, chosen, draw(st.sampled_from(["start", "end"])), draw(small)
        )
    if kind == 5:
        return edits.SetVelocity(track, chosen, draw(st.integers(-10, 200)))
    if kind == 6:
        return edits.ScaleVelocity(track, chosen, draw(st.floats(0, 3)), draw(st.integers(-50, 50)))
    if kind == 7:
        return edits.Paste(track, notes.take(notes.indices_of_ids(chosen)), draw(small))
    if kind == 8:
        return edits.Duplicate(track, chosen)
    if kind == 9:
        return edits.Quantize(
            track,
            chosen,
            draw(st.sampled_from([60, 120, 160, 480])),
            draw(st.floats(0, 1)),
            draw(st.booleans()),
            draw(st.booleans()),
        )
    if kind == 10:
        return edits.Nudge(track, chosen, draw(small))
    if kind == 11:
        return edits.Legato(track, chosen)
    if kind == 12:
        return edits.Humanize(track, chosen, draw(st.integers(0, 100)), 20, draw(st.integers(0, 9)))
    if kind == 13:
        start = draw(st.integers(0, 4000))
        return edits.ReplaceNotesInRange(
            track, start, start + draw(st.integers(0, 3000)), Notes([50], [start], [100])
        )
    if kind == 14:
        return edits.SetTrackProperty(
            track, "name", draw(st.text(max_size=5, alphabet=st.characters(codec="utf-8")))
        )
    if len(song.tracks) > 1 and draw(st.booleans()):
        return edits.RemoveTracks((track,))
    return edits.MoveTrack(track, draw(st.integers(0, len(song.tracks) - 1)))


@st.composite
def edit_sequences(draw: st.DrawFn) -> tuple[Song, list[Song], list[edits.Command]]:
    song = make_song()
    original = song
    inverses: list[edits.Command] = []
    states: list[Song] = []
    for _ in range(draw(st.integers(1, 12))):
        command = _command(draw, song)
        states.append(song)
        song, inverse = edits.apply(song, command)
        inverses.append(inverse)
    return original, [*states, song], inverses


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit_sequences())
def test_random_edits_then_undo_all_restore_original(data):
    original, states, inverses = data
    song = states[-1]
    for k in range(len(inverses) - 1, -1, -1):
        song, _ = edits.apply(song, inverses[k])
        assert song == states[k]
        for track in song.tracks:  # every state is a valid song
            notes = track.notes
            assert np.all((notes.pitch >= 0) & (notes.pitch <= 127))
            assert np.all(notes.start >= 0) and np.all(notes.duration >= 1)
    assert song == original


def test_core_editing_modules_import_no_qt():
    import subprocess
    import sys

    code = (
        "import sys, studio.core.edits, studio.core.scales, studio.core.quantize; "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'torch'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
