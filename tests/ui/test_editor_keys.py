"""Editor commands through their keyboard shortcuts and the action registry."""

from __future__ import annotations

import numpy as np
import pytest
from editor_helpers import TPB, at, ids_at, make_editor, notes_of
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from studio.core.song import Notes, Song, Track
from studio.ui.editor.actions import EDITOR_COMMANDS

K = Qt.Key
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def editor(qtbot):
    editor = make_editor(qtbot)
    editor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is editor)
    editor.canvas.setFocus()
    return editor


def key(qtbot, editor, k, modifiers=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(editor.canvas, k, modifiers)


def test_every_registered_action_exists_with_its_shortcuts(editor):
    assert set(editor.actions_by_id) == {spec.id for spec in EDITOR_COMMANDS}
    for spec in EDITOR_COMMANDS:
        assert editor.action(spec.id).shortcuts() == spec.key_sequences()


def test_delete_and_undo_redo_keys(qtbot, editor):
    doc = editor.document
    doc.set_selection(ids_at(editor, [64]))
    before = notes_of(editor)
    key(qtbot, editor, K.Key_Delete)
    assert [n[0] for n in notes_of(editor)] == [60, 67]
    key(qtbot, editor, K.Key_Z, CTRL)
    assert notes_of(editor) == before
    key(qtbot, editor, K.Key_Z, CTRL | SHIFT)
    assert [n[0] for n in notes_of(editor)] == [60, 67]


def test_transpose_and_octave_keys_clamp_as_a_group(qtbot, editor):
    doc = editor.document
    doc.select_all()
    key(qtbot, editor, K.Key_Up)
    assert [n[0] for n in notes_of(editor)] == [61, 65, 68]
    key(qtbot, editor, K.Key_Down, SHIFT)
    assert [n[0] for n in notes_of(editor)] == [49, 53, 56]
    for _ in range(8):
        key(qtbot, editor, K.Key_Up, SHIFT)
    assert [n[0] for n in notes_of(editor)] == [120, 124, 127]  # intervals kept at the top
    assert doc.undo_stack.count() == 8  # the two clamped no-op presses add no steps
    assert len(doc.selection) == 3


def test_nudge_by_snap_step(qtbot, editor):
    editor.document.set_selection(ids_at(editor, [64]))
    key(qtbot, editor, K.Key_Right)
    key(qtbot, editor, K.Key_Right)
    assert (64, 480 + 240, 480, 90) in notes_of(editor)
    key(qtbot, editor, K.Key_Left)
    assert (64, 600, 480, 90) in notes_of(editor)


def test_tool_keys_switch_tools(qtbot, editor):
    for k, name in ((K.Key_S, "select"), (K.Key_E, "erase"), (K.Key_D, "draw")):
        key(qtbot, editor, k)
        assert editor.state.tool == name
        assert editor.action(f"tools.{name}").isChecked()
    key(qtbot, editor, K.Key_G)
    assert not editor.state.snap_enabled


def test_copy_paste_at_playhead_and_duplicate(qtbot, editor):
    doc = editor.document
    doc.set_selection(ids_at(editor, [60, 64]))
    key(qtbot, editor, K.Key_C, CTRL)
    doc.set_playhead(4 * TPB)
    editor.canvas._hover = None
    key(qtbot, editor, K.Key_V, CTRL)
    assert (60, 4 * TPB, 480, 100) in notes_of(editor)
    assert (64, 5 * TPB, 480, 90) in notes_of(editor)
    assert len(doc.selection) == 2  # the pasted notes are selected
    key(qtbot, editor, K.Key_D, CTRL)
    assert (60, 6 * TPB, 480, 100) in notes_of(editor)
    assert len(notes_of(editor)) == 7


def test_paste_at_mouse_position(qtbot, editor):
    doc = editor.document
    doc.set_selection(ids_at(editor, [67]))
    key(qtbot, editor, K.Key_X, CTRL)
    assert 67 not in [n[0] for n in notes_of(editor)]
    pos = at(editor, 3 * TPB + 50, 50)
    move = QMouseEvent(
        QMouseEvent.Type.MouseMove,
        pos,
        QPointF(editor.canvas.mapToGlobal(pos.toPoint())),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(editor.canvas, move)
    key(qtbot, editor, K.Key_V, CTRL)
    assert (67, 3 * TPB, 480, 80) in notes_of(editor)


def test_paste_into_drum_track(qtbot, editor):
    doc = editor.document
    doc.select_all()
    key(qtbot, editor, K.Key_C, CTRL)
    doc.set_active_track(1)
    from studio.core import edits

    doc.push(edits.SetTrackProperty(1, "is_drum", True))
    doc.set_playhead(0)
    editor.canvas._hover = None
    key(qtbot, editor, K.Key_V, CTRL)
    drums = doc.song.tracks[1]
    assert drums.is_drum and len(drums.notes) == 4
    assert np.all(drums.notes.duration >= 1)


def test_select_all_none_invert(qtbot, editor):
    doc = editor.document
    key(qtbot, editor, K.Key_A, CTRL)
    assert len(doc.selection) == 3
    key(qtbot, editor, K.Key_Escape)
    assert len(doc.selection) == 0
    doc.set_selection(ids_at(editor, [60]))
    key(qtbot, editor, K.Key_I, CTRL)
    assert sorted(doc.selection.tolist()) == sorted(ids_at(editor, [64, 67]).tolist())


def test_quantize_legato_and_dialog_commands(qtbot, editor, monkeypatch):
    song = Song(tracks=[Track("T", notes=Notes([60, 62], [130, 500], [100, 50]))])
    editor.document.set_song(song)
    key(qtbot, editor, K.Key_Q)
    assert [n[1] for n in notes_of(editor)] == [120, 480]
    key(qtbot, editor, K.Key_L)
    assert [n[2] for n in notes_of(editor)] == [360, 50]
    monkeypatch.setattr(editor, "ask_quantize", lambda: (480, 0.5, True, False))
    editor.action("edit.quantize_dialog").trigger()
    assert [n[1] for n in notes_of(editor)] == [60, 480]
    monkeypatch.setattr(editor, "ask_humanize", lambda: (20, 5, 3))
    editor.action("edit.humanize").trigger()
    assert editor.document.undo_stack.count() == 4
    monkeypatch.setattr(editor, "ask_scale_velocity", lambda: (0.5, 0))
    before = [n[3] for n in notes_of(editor)]
    editor.action("edit.scale_velocity").trigger()
    assert [n[3] for n in notes_of(editor)] == [round(v / 2) for v in before]


def test_select_out_of_scale_notes(qtbot, editor):
    editor.state.set_scale(0, "Major")
    song = Song(tracks=[Track("T", notes=Notes([60, 61, 62, 66], [0, 0, 0, 0], [10] * 4))])
    editor.document.set_song(song)
    editor.action("edit.select_out_of_scale").trigger()
    notes = editor.document.active_notes()
    picked = notes.pitch[np.isin(notes.ids, editor.document.selection)]
    assert sorted(picked.tolist()) == [61, 66]


def test_toolbar_buttons_are_visible_with_tooltips(editor):
    from PySide6.QtWidgets import QToolButton

    for action_id in ("tools.draw", "tools.select", "tools.erase", "tools.snap"):
        button = editor.toolbar.widgetForAction(editor.action(action_id))
        assert isinstance(button, QToolButton) and button.isVisible()
        assert editor.action(action_id).toolTip()
        assert not editor.action(action_id).icon().isNull()
    assert "(D)" in editor.action("tools.draw").toolTip()


def test_arrow_keys_in_track_fields_do_not_edit_notes(qtbot, editor):
    doc = editor.document
    doc.select_all()
    before = notes_of(editor)
    combo = editor.track_list.rows[0].instrument
    combo.setFocus()
    qtbot.keyClick(combo, K.Key_Down)
    name = editor.track_list.rows[0].name_edit
    name.setFocus()
    qtbot.keyClick(name, K.Key_Left)
    qtbot.keyClick(name, K.Key_D)
    assert notes_of(editor) == before
    assert editor.state.tool == "draw"
