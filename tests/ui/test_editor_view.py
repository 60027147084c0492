"""Viewing: playhead overlay, zoom limits, wheel, scrolling, tracks, ghost toggle."""

from __future__ import annotations

import numpy as np
from editor_helpers import TPB, at, click, make_editor, notes_of
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.core.song import Notes, Song, Track
from studio.ui.editor.viewport import MAX_PX_PER_BEAT, MAX_ROW_HEIGHT, MIN_PX_PER_BEAT

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def wheel(widget, pos: QPointF, dy: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    event = QWheelEvent(
        pos,
        QPointF(widget.mapToGlobal(pos.toPoint())),
        QPoint(0, 0),
        QPoint(0, dy),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_moving_the_playhead_does_not_repaint_the_notes(qtbot):
    editor = make_editor(qtbot)
    canvas = editor.canvas
    qtbot.waitUntil(lambda: canvas.render_count > 0)
    QApplication.processEvents()
    renders = canvas.render_count
    painted = []
    original = canvas.paintEvent

    def spy(event):
        painted.append(event.rect())
        original(event)

    canvas.paintEvent = spy
    for tick in range(0, 4 * TPB, 60):
        editor.document.set_playhead(tick)
        QApplication.processEvents()
    assert painted, "the playhead strip must be repainted"
    assert canvas.render_count == renders  # notes layer reused from the cache
    assert max(r.width() for r in painted) < canvas.width()  # only strips, not the viewport
    editor.document.set_selection(editor.document.active_notes().ids[:1])
    QApplication.processEvents()
    assert canvas.render_count == renders + 1  # a real change does re-render


def test_ctrl_and_shift_wheel_zoom_separately_and_clamp(qtbot):
    editor = make_editor(qtbot)
    view = editor.view
    pos = at(editor, 960, 64)
    tick_under_mouse = view.tick_at(pos.x())
    row_height = view.row_height
    wheel(editor.canvas, pos, 120, CTRL)
    assert view.px_per_beat > 96 and view.row_height == row_height
    assert abs(view.tick_at(pos.x()) - tick_under_mouse) < 1  # zoom keeps the mouse's tick
    wheel(editor.canvas, pos, 120, SHIFT)
    assert view.row_height > row_height
    for _ in range(200):
        wheel(editor.canvas, pos, 1200, CTRL)
        wheel(editor.canvas, pos, 1200, SHIFT)
    assert view.px_per_beat == MAX_PX_PER_BEAT and view.row_height == MAX_ROW_HEIGHT
    editor.canvas.repaint()
    for _ in range(200):
        wheel(editor.canvas, pos, -1200, CTRL)
        wheel(editor.canvas, pos, -1200, SHIFT)
    assert view.px_per_beat == MIN_PX_PER_BEAT
    editor.grab()  # extreme zoom paints without error
    click(editor.canvas, at(editor, 10, 60))  # and editing still works
    assert np.all(editor.document.active_notes().duration >= 1)


def test_extreme_zoom_values_never_crash(qtbot):
    editor = make_editor(qtbot)
    view = editor.view
    for factor in (1e12, 1e-12, float("inf"), 0.0, float("nan")):
        view.zoom_x(factor)
        view.zoom_y(factor)
        editor.grab()
    assert MIN_PX_PER_BEAT <= view.px_per_beat <= MAX_PX_PER_BEAT


def test_wheel_scrolls_smoothly(qtbot):
    editor = make_editor(qtbot)
    view = editor.view
    top = view.top_px
    wheel(editor.canvas, QPointF(100, 100), -120)
    assert view.top_px == top  # not a jump: it glides
    qtbot.waitUntil(lambda: editor.scroller.target is None, timeout=2000)
    assert view.top_px == top + 3 * view.row_height


def test_zoom_to_fit_and_selection(qtbot):
    editor = make_editor(qtbot)
    view = editor.view
    editor.zoom_to_fit()
    assert view.x_of(0) >= 0 and view.x_of(editor.document.song.end_tick) <= view.width
    low, high = view.visible_pitches()
    assert low <= 60 and high >= 72
    editor.document.set_selection(editor.document.active_notes().ids[:1])
    editor.zoom_to_selection()
    assert view.x_of(480) <= view.width and view.px_per_beat > 200


def test_ensure_tick_visible_pages_the_view(qtbot):
    editor = make_editor(qtbot)
    far = 200 * TPB
    editor.ensure_tick_visible(far)
    assert 0 <= editor.view.x_of(far) <= editor.view.width
    assert not editor.user_is_dragging


def test_ghost_toggle_and_track_switch(qtbot):
    editor = make_editor(qtbot)
    qtbot.waitUntil(lambda: editor.canvas.render_count > 0)
    QApplication.processEvents()
    renders = editor.canvas.render_count
    editor.action("view.ghost_notes").trigger()
    assert not editor.state.show_ghosts
    QApplication.processEvents()
    assert editor.canvas.render_count == renders + 1
    editor.track_list.rows[1].mousePressEvent(_press())
    assert editor.document.active_track == 1
    assert notes_of(editor, 1) == [(72, 1920, 960, 100)]


def _press():
    from PySide6.QtGui import QMouseEvent

    return QMouseEvent(
        QMouseEvent.Type.MouseButtonPress,
        QPointF(5, 5),
        QPointF(5, 5),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )


def test_track_list_edits_are_undoable(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    tracks = editor.track_list
    row = tracks.rows[0]
    row.name_edit.setText("Lead")
    row.name_edit.editingFinished.emit()
    assert doc.song.tracks[0].name == "Lead"
    tracks.rows[0].mute_button.click()
    assert doc.song.tracks[0].mute
    tracks.rows[1].solo_button.click()
    assert doc.song.tracks[1].solo
    assert doc.song.audible_tracks() == [1]
    tracks.rows[0].instrument.setCurrentIndex(40)
    assert doc.song.tracks[0].program == 40
    tracks.rows[0].instrument.setCurrentIndex(128)
    assert doc.song.tracks[0].is_drum
    tracks.add_button.click()
    assert len(doc.song.tracks) == 3 and doc.active_track == 2
    tracks.up_button.click()
    assert [t.name for t in doc.song.tracks] == ["Lead", "Track 3", "Ghost"]
    assert doc.active_track == 1
    tracks.delete_button.click()
    assert [t.name for t in doc.song.tracks] == ["Lead", "Ghost"]
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert [t.name for t in doc.song.tracks] == ["Melody", "Ghost"]
    assert not doc.song.tracks[0].mute and not doc.song.tracks[0].is_drum
    assert doc.song.tracks[0].program == 0
    assert len(tracks.rows) == 2


def test_deleting_every_track_leaves_a_usable_editor(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    editor.track_list.delete_button.click()
    editor.track_list.delete_button.click()
    assert doc.song.tracks == []
    click(editor.canvas, at(editor, 100, 60))
    editor.action("edit.select_all").trigger()
    editor.action("edit.paste").trigger()
    editor.grab()
    doc.undo_stack.undo()
    assert len(doc.song.tracks) == 1


def test_dense_song_paints_with_the_raster_path(qtbot):
    rng = np.random.default_rng(0)
    n = 20_000
    notes = Notes(rng.integers(40, 90, n), rng.integers(0, 64 * TPB, n), rng.integers(30, 400, n))
    editor = make_editor(qtbot, Song(tracks=[Track("Dense", notes=notes)]))
    editor.zoom_to_fit()
    image = editor.canvas.grab().toImage()
    assert image.width() > 0
    editor.document.select_all()
    editor.canvas.repaint()


def test_hundreds_of_ghost_tracks_paint(qtbot):
    tracks = [
        Track(f"T{k}", notes=Notes(np.full(10, 40 + k % 40), np.arange(10) * 96 + k, [90] * 10))
        for k in range(300)
    ]
    editor = make_editor(qtbot, Song(tracks=tracks))
    editor.zoom_to_fit()
    assert not editor.canvas.grab().isNull()


def test_track_colour_dialog_and_renaming_a_deleted_row(qtbot, monkeypatch):
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QColorDialog

    editor = make_editor(qtbot)
    doc = editor.document
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor("#123456"))
    editor.track_list.rows[1].colour_button.click()
    assert doc.song.tracks[1].colour == "#123456"
    stale = editor.track_list.rows[1]
    doc.set_active_track(1)
    editor.track_list.delete_button.click()
    stale.name_edit.setText("ghost")
    stale.name_edit.editingFinished.emit()  # focus-out of a row being replaced
    assert [t.name for t in doc.song.tracks] == ["Melody"]


def test_hovering_a_note_outlines_it_without_rerendering_notes(qtbot):
    from editor_helpers import send
    from PySide6.QtCore import QEvent

    editor = make_editor(qtbot)
    canvas = editor.canvas
    qtbot.waitUntil(lambda: canvas.render_count > 0)
    QApplication.processEvents()
    renders = canvas.render_count
    send(canvas, QEvent.Type.MouseMove, at(editor, 600, 64), Qt.MouseButton.NoButton)
    notes = editor.document.active_notes()
    assert canvas._hover_note == int(notes.ids[notes.pitch == 64][0])
    send(canvas, QEvent.Type.MouseMove, at(editor, 3000, 40), Qt.MouseButton.NoButton)
    assert canvas._hover_note is None
    QApplication.processEvents()
    assert canvas.render_count == renders


def test_keyboard_follows_the_hovered_row_and_scale(qtbot):
    from editor_helpers import send
    from PySide6.QtCore import QEvent

    editor = make_editor(qtbot)
    send(editor.canvas, QEvent.Type.MouseMove, at(editor, 600, 65), Qt.MouseButton.NoButton)
    assert editor.keyboard.hovered == 65
    editor.state.set_scale(2, "Dorian")
    assert not editor.keyboard.grab().isNull()


def test_fit_keeps_rows_readable_in_a_short_editor(qtbot):
    # Four voices over four octaves in a short editor: "fit" would need 4 px rows.
    notes = Notes([36, 48, 60, 72, 84], [0, 480, 960, 1440, 1920], [480] * 5)
    editor = make_editor(qtbot, Song(tracks=[Track("Wide", notes=notes)]))
    editor.resize(1100, 420)
    qtbot.waitUntil(lambda: editor.canvas.height() < 300)
    editor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is editor)
    editor.canvas.setFocus()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_F)
    view = editor.view
    assert view.row_height >= 8
    low, high = view.visible_pitches()
    assert low <= 60 <= high  # the middle of the range is in view, the rest scrolls
    assert view.x_of(0) >= 0 and view.x_of(2400) <= view.width
