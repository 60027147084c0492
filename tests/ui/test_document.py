"""SongDocument: the contract other panels rely on, and exact undo through Qt's stack."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import edits
from studio.core.song import Notes, Song, Track
from studio.ui.document import SongDocument


def song() -> Song:
    return Song(
        "doc",
        tracks=[
            Track("A", notes=Notes([60, 62, 64], [0, 480, 960], [480, 480, 480])),
            Track("B", notes=Notes([48], [0], [1920])),
        ],
    )


def test_set_song_resets_history_and_state(qtbot):
    doc = SongDocument(song())
    doc.push(edits.DeleteNotes(0, [0]))
    doc.set_loop(0, 480)
    with qtbot.waitSignals([doc.changed, doc.tracksChanged, doc.pathChanged]):
        doc.set_song(song(), "/tmp/x.mid")
    assert doc.undo_stack.count() == 0 and not doc.modified
    assert doc.loop is None and doc.path == "/tmp/x.mid" and len(doc.selection) == 0


def test_a_song_that_exists_nowhere_else_counts_as_unsaved(qtbot):
    doc = SongDocument(song())
    with qtbot.waitSignal(doc.modifiedChanged) as changed:
        doc.set_song(song(), None, unsaved=True)
    assert changed.args == [True] and doc.modified and doc.undo_stack.count() == 0
    doc.push(edits.DeleteNotes(0, [0]))
    doc.undo_stack.undo()
    assert doc.modified  # undoing back to the start does not make it "saved"
    doc.mark_saved("/tmp/generated.mid")
    assert not doc.modified


def test_insert_tracks_and_replace_range_are_single_steps(qtbot):
    doc = SongDocument(song())
    with qtbot.waitSignal(doc.tracksChanged):
        doc.insert_tracks([Track("S"), Track("T")], "Generate")
    assert [t.name for t in doc.song.tracks] == ["A", "B", "S", "T"]
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Generate"
    doc.replace_notes_in_range(0, 480, 1440, Notes([70, 71], [480, 960], [240, 240]), "Infill")
    assert doc.song.tracks[0].notes.pitch.tolist() == [60, 70, 71]
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.song == song()


def test_replace_ranges_writes_several_tracks_and_new_ones_as_one_step(qtbot):
    doc = SongDocument(song())
    doc.push(edits.DeleteNotes(0, [2]))
    steps = doc.undo_stack.count()
    before = doc.song.copy()
    with qtbot.waitSignal(doc.tracksChanged):
        assert doc.replace_ranges(
            [
                edits.ReplaceNotesInRange(0, 480, 1920, Notes([72], [480], [960])),
                edits.ReplaceNotesInRange(1, 0, 1920, Notes([40, 41], [0, 960], [960, 960])),
            ],
            "Replace with generated music",
            new_tracks=[Track("Tenor · new", notes=Notes([55], [0], [480]))],
        )
    assert doc.song.tracks[0].notes.pitch.tolist() == [60, 72]
    assert doc.song.tracks[1].notes.pitch.tolist() == [40, 41]
    assert [t.name for t in doc.song.tracks] == ["A", "B", "Tenor · new"]
    assert doc.undo_stack.count() == steps + 1
    assert doc.undo_stack.undoText() == "Replace with generated music"
    doc.undo_stack.undo()
    assert doc.song == before
    doc.undo_stack.redo()
    assert len(doc.song.tracks) == 3 and doc.song.tracks[1].notes.pitch.tolist() == [40, 41]


def test_replace_ranges_checks_everything_before_it_changes_anything(qtbot):
    doc = SongDocument(song())
    good = edits.ReplaceNotesInRange(0, 0, 480, Notes([70], [0], [480]))
    for bad in (
        edits.ReplaceNotesInRange(5, 0, 480, Notes()),  # no such track
        edits.ReplaceNotesInRange(1, 960, 0, Notes()),  # end before start
        edits.ReplaceNotesInRange(0, 0, 960, Notes()),  # the same track twice
    ):
        try:
            doc.replace_ranges([good, bad])
        except ValueError as error:
            assert str(error)
        else:
            raise AssertionError(f"{bad} was accepted")
        assert doc.song == song() and doc.undo_stack.count() == 0
    assert not doc.replace_ranges([edits.ReplaceNotesInRange(0, 5000, 6000, Notes())])
    assert doc.undo_stack.count() == 0  # nothing changed, no empty step


def test_selection_and_active_track_follow_edits_and_undo(qtbot):
    doc = SongDocument(song())
    doc.set_selection([1, 2, 99])  # unknown ids are dropped
    assert doc.selection.tolist() == [1, 2]
    doc.push(edits.DeleteNotes(0, [1]))
    assert doc.selection.tolist() == [2]
    doc.undo_stack.undo()
    assert doc.selection.tolist() == [1, 2]
    doc.set_active_track(1)
    doc.push(edits.MoveTrack(1, 0))
    assert doc.active_track == 0 and doc.active().name == "B"
    doc.push(edits.RemoveTracks((0,)))
    assert doc.active().name == "A"
    doc.undo_stack.undo()
    assert doc.active().name == "B"


def test_playhead_loop_and_preview_signals(qtbot):
    doc = SongDocument(song())
    with qtbot.waitSignal(doc.playheadChanged) as moved:
        doc.set_playhead(-50)
        doc.set_playhead(960)
    assert moved.args == [960]
    with qtbot.waitSignal(doc.loopChanged):
        doc.set_loop(1920, 480)
    assert doc.loop == (480, 1920)
    doc.set_loop(480, 480)
    assert doc.loop is None
    with qtbot.waitSignal(doc.previewRequested) as preview:
        doc.request_preview(67, 90)
    assert preview.args == [0, 67, 90]


def test_noop_edits_leave_no_history(qtbot):
    doc = SongDocument(song())
    assert not doc.push(edits.DeleteNotes(0, []))
    assert not doc.push(edits.Transpose(0, [0], 0))
    assert doc.undo_stack.count() == 0


@st.composite
def pushes(draw):
    out = []
    for _ in range(draw(st.integers(1, 15))):
        kind = draw(st.sampled_from(["add", "move", "del", "vel", "gesture", "track"]))
        out.append((kind, draw(st.integers(0, 10_000)), draw(st.integers(-30, 30))))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pushes())
def test_random_document_edits_then_undo_all_restore_the_song(qapp, steps):
    doc = SongDocument(song())
    original = doc.song
    for kind, seed, delta in steps:
        ids = doc.active_notes().ids
        pick = ids[seed % len(ids) : seed % len(ids) + 2] if len(ids) else ids
        if kind == "add":
            doc.push(edits.AddNotes(0, Notes([seed % 128], [seed], [1 + seed % 500])))
        elif kind == "move":
            doc.push(edits.MoveNotes(0, pick, delta * 40, delta))
        elif kind == "del":
            doc.push(edits.DeleteNotes(0, pick))
        elif kind == "vel":
            doc.push(edits.SetVelocity(0, pick, seed % 140))
        elif kind == "gesture":  # a drag: many steps folded into one
            doc.begin_gesture("Drag")
            for k in range(1, 6):
                doc.push(edits.MoveNotes(0, pick, delta * k, 1))
            doc.end_gesture()
        else:
            doc.push(edits.SetTrackProperty(1, "mute", bool(seed % 2)))
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.song == original
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert all(np.all(t.notes.duration >= 1) for t in doc.song.tracks)
