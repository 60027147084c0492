"""The piano roll driven with the mouse, as a composer would."""

from __future__ import annotations

from editor_helpers import TPB, at, click, drag, ids_at, make_editor, notes_of, send
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
RIGHT = Qt.MouseButton.RightButton


def test_draw_click_adds_note_of_last_length_snapped_and_previews(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    with qtbot.waitSignal(doc.previewRequested) as preview:
        click(editor.canvas, at(editor, 2 * TPB + 170, 62))  # snaps down to the 1/16 grid
    assert preview.args == [0, 62, 100]
    assert (62, 2 * TPB + 120, TPB, 100) in notes_of(editor)
    assert len(doc.selection) == 1  # the new note is selected
    assert doc.undo_stack.count() == 1


def test_draw_drag_sets_length_and_becomes_the_next_length(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    start = at(editor, 4 * TPB, 70)
    drag(editor.canvas, [start, at(editor, 5 * TPB, 70), at(editor, 6 * TPB + 10, 70)])
    assert (70, 4 * TPB, 2 * TPB, 100) in notes_of(editor)
    assert doc.undo_stack.count() == 1  # add + resize are one step
    click(editor.canvas, at(editor, 8 * TPB, 71))
    assert (71, 8 * TPB, 2 * TPB, 100) in notes_of(editor)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert notes_of(editor) == notes_of(make_editor(qtbot))


def test_zero_length_draw_drag_keeps_a_valid_note(qtbot):
    editor = make_editor(qtbot)
    drag(editor.canvas, [at(editor, 4 * TPB, 70), at(editor, 3 * TPB, 70)])  # left of start
    added = [n for n in notes_of(editor) if n[0] == 70]
    assert added == [(70, 4 * TPB, 120, 100)]  # never shorter than one grid step


def test_select_click_shift_click_and_rubber_band(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    editor.state.set_tool("select")
    click(editor.canvas, at(editor, 100, 60))
    assert doc.selection.tolist() == ids_at(editor, [60]).tolist()
    click(editor.canvas, at(editor, 600, 64), modifiers=SHIFT)
    assert sorted(doc.selection.tolist()) == sorted(ids_at(editor, [60, 64]).tolist())
    click(editor.canvas, at(editor, 600, 64), modifiers=SHIFT)  # shift-click again removes
    assert doc.selection.tolist() == ids_at(editor, [60]).tolist()
    click(editor.canvas, at(editor, 3000, 50))  # empty space clears
    assert len(doc.selection) == 0
    drag(editor.canvas, [at(editor, 400, 70), at(editor, 1500, 62)])  # band over 64 and 67
    assert sorted(doc.selection.tolist()) == sorted(ids_at(editor, [64, 67]).tolist())
    assert doc.undo_stack.count() == 0  # selecting is not an edit


def test_ctrl_in_draw_mode_selects_instead_of_drawing(qtbot):
    editor = make_editor(qtbot)
    before = notes_of(editor)
    drag(editor.canvas, [at(editor, -1, 70), at(editor, 1500, 59)], modifiers=CTRL)
    assert notes_of(editor) == before
    assert len(editor.document.selection) == 3


def test_move_drag_is_one_undo_step_and_undo_is_exact(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    before = notes_of(editor)
    points = [at(editor, 100, 60)] + [at(editor, 100 + k * 40, 60 + k // 3) for k in range(1, 25)]
    drag(editor.canvas, points)
    moved = next(n for n in notes_of(editor) if n[3] == 100)
    assert moved[0] == 60 + 24 // 3
    assert moved[1] % 120 == 0  # snapped to 1/16
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert notes_of(editor) == before
    doc.undo_stack.redo()
    assert next(n for n in notes_of(editor) if n[3] == 100) == moved


def test_shift_constrains_the_move_to_one_axis(qtbot):
    editor = make_editor(qtbot)
    drag(editor.canvas, [at(editor, 100, 60), at(editor, 700, 61)], modifiers=SHIFT)
    moved = next(n for n in notes_of(editor) if n[3] == 100)
    assert moved[0] == 60 and moved[1] == 600


def test_alt_disables_snap(qtbot):
    editor = make_editor(qtbot)
    drag(editor.canvas, [at(editor, 100, 60), at(editor, 135, 60)], modifiers=ALT)
    moved = next(n for n in notes_of(editor) if n[3] == 100)
    assert moved[1] == 35


def test_move_clamps_at_edges_and_keeps_intervals(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    doc.select_all()
    editor.view.scroll_to(top_px=0)  # pitch 127 row at the top
    drag(editor.canvas, [at(editor, 1000, 67), QPointF(-300, -500)])
    notes = sorted(notes_of(editor))
    assert [n[0] for n in notes] == [120, 124, 127]
    assert min(n[1] for n in notes) == 0


def test_resize_end_and_start(qtbot):
    editor = make_editor(qtbot)
    view = editor.view
    end_x = view.x_of(480) - 2
    drag(editor.canvas, [QPointF(end_x, at(editor, 0, 60).y()), at(editor, 960, 60)])
    assert (60, 0, 960, 100) in notes_of(editor)
    start_x = view.x_of(480) + 2
    drag(editor.canvas, [QPointF(start_x, at(editor, 0, 64).y()), at(editor, 720, 64)])
    assert (64, 720, 240, 90) in notes_of(editor)
    # Dragging the start past the end keeps one grid step.
    start_x = view.x_of(720) + 2
    drag(editor.canvas, [QPointF(start_x, at(editor, 0, 64).y()), at(editor, 3000, 64)])
    assert (64, 840, 120, 90) in notes_of(editor)
    assert editor.document.undo_stack.count() == 3


def test_click_on_note_without_moving_changes_nothing(qtbot):
    editor = make_editor(qtbot)
    before = notes_of(editor)
    drag(editor.canvas, [at(editor, 100, 60), at(editor, 101, 60), at(editor, 100, 60)])
    assert notes_of(editor) == before
    assert editor.document.undo_stack.count() == 0


def test_move_back_to_start_leaves_no_undo_step(qtbot):
    editor = make_editor(qtbot)
    drag(editor.canvas, [at(editor, 100, 60), at(editor, 700, 62), at(editor, 100, 60)])
    assert editor.document.undo_stack.count() == 0


def test_erase_click_and_stroke_is_one_step(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    editor.state.set_tool("erase")
    click(editor.canvas, at(editor, 100, 60))
    assert 60 not in [n[0] for n in notes_of(editor)]
    # a diagonal stroke across the 64 and 67 notes
    points = [at(editor, 400 + k * 30, 64 + round(k * 3 / 20)) for k in range(21)]
    drag(editor.canvas, points)
    assert notes_of(editor) == []
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    assert [n[0] for n in notes_of(editor)] == [64, 67]


def test_right_drag_erases_in_draw_mode(qtbot):
    editor = make_editor(qtbot)
    click(editor.canvas, at(editor, 600, 64), button=RIGHT)
    assert 64 not in [n[0] for n in notes_of(editor)]


def test_ghost_notes_are_not_editable(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    ghost = at(editor, 2000, 72)
    editor.state.set_tool("select")
    click(editor.canvas, ghost)
    assert len(doc.selection) == 0
    editor.state.set_tool("erase")
    click(editor.canvas, ghost)
    drag(editor.canvas, [ghost, at(editor, 2500, 72)])
    assert notes_of(editor, 1) == [(72, 1920, 960, 100)]
    editor.state.set_tool("draw")
    click(editor.canvas, ghost)  # draws on the active track, ghost untouched
    assert notes_of(editor, 1) == [(72, 1920, 960, 100)]
    assert (72, 1920, 480, 100) in notes_of(editor, 0)


def test_escape_cancels_a_drag_instead_of_deselecting(qtbot):
    editor = make_editor(qtbot)
    editor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is editor)
    editor.canvas.setFocus()
    before = notes_of(editor)
    send(editor.canvas, QEvent.Type.MouseButtonPress, at(editor, 100, 60))
    send(editor.canvas, QEvent.Type.MouseMove, at(editor, 900, 66))
    assert notes_of(editor) != before
    assert editor.user_is_dragging
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Escape)
    send(editor.canvas, QEvent.Type.MouseButtonRelease, at(editor, 900, 66))
    assert notes_of(editor) == before
    assert not editor.user_is_dragging
    assert editor.document.undo_stack.count() == 0
    assert len(editor.document.selection) == 1  # Escape did not also clear the selection
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Escape)
    assert len(editor.document.selection) == 0


def test_velocity_lane_drag_sets_selected_only_and_is_one_step(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    lane = editor.velocity
    doc.set_selection(ids_at(editor, [64]))
    top = QPointF(0, 4)
    points = [QPointF(editor.view.x_of(t), top.y()) for t in (0, 480, 960)]
    drag(lane, points)
    velocities = {n[0]: n[3] for n in notes_of(editor)}
    assert velocities == {60: 100, 64: 127, 67: 80}
    assert doc.undo_stack.count() == 1
    doc.select_none()
    bottom = QPointF(0, lane.height() - 6)
    drag(lane, [QPointF(editor.view.x_of(t), bottom.y()) for t in (0, 480, 960)])
    assert {n[3] for n in notes_of(editor)} == {1}


def test_velocity_lane_shift_drag_scales_relatively(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    doc.select_all()
    lane = editor.velocity
    drag(lane, [QPointF(50, 60), QPointF(50, 80), QPointF(50, 120)], modifiers=SHIFT)
    velocities = [n[3] for n in notes_of(editor)]
    assert velocities == [50, 45, 40]  # halved: one octave of the 60 px scale
    assert doc.undo_stack.count() == 1


def test_keyboard_click_previews_pitch(qtbot):
    editor = make_editor(qtbot)
    with qtbot.waitSignal(editor.document.previewRequested) as preview:
        click(editor.keyboard, QPointF(30, at(editor, 0, 61).y()))
    assert preview.args[:2] == [0, 61]


def test_ruler_click_places_playhead_and_drag_makes_loop(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    with qtbot.waitSignal(doc.playheadChanged):
        click(editor.ruler, QPointF(editor.view.x_of(965), 20))
    assert doc.playhead == 960
    drag(editor.ruler, [QPointF(editor.view.x_of(480), 20), QPointF(editor.view.x_of(1920), 20)])
    assert doc.loop == (480, 1920)
    click(editor.ruler, QPointF(50, 20), button=RIGHT)
    assert doc.loop is None


def test_undo_in_the_middle_of_a_drag_abandons_it_safely(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    drag(editor.canvas, [at(editor, 4 * TPB, 70), at(editor, 5 * TPB, 70)])  # draws a note
    new_id = int(doc.selection[0])
    start = at(editor, 4 * TPB + 100, 70)
    send(editor.canvas, QEvent.Type.MouseButtonPress, start)
    send(editor.canvas, QEvent.Type.MouseMove, at(editor, 4 * TPB + 400, 72))
    doc.undo_stack.undo()  # the move
    doc.undo_stack.undo()  # the drawn note itself
    send(editor.canvas, QEvent.Type.MouseMove, at(editor, 4 * TPB + 800, 74))
    send(editor.canvas, QEvent.Type.MouseButtonRelease, at(editor, 4 * TPB + 800, 74))
    assert new_id not in doc.active_notes().ids
    assert notes_of(editor) == [(60, 0, 480, 100), (64, 480, 480, 90), (67, 960, 480, 80)]


def test_click_on_a_note_of_the_selection_selects_just_that_note(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    editor.state.set_tool("select")
    doc.select_all()
    click(editor.canvas, at(editor, 600, 64))  # press and release, no drag
    assert doc.selection.tolist() == ids_at(editor, [64]).tolist()
    assert doc.undo_stack.count() == 0
    # The same in the Draw tool: clicking a note never draws over it.
    editor.state.set_tool("draw")
    doc.select_all()
    click(editor.canvas, at(editor, 1100, 67))
    assert doc.selection.tolist() == ids_at(editor, [67]).tolist()
    assert len(notes_of(editor)) == 3


def test_drag_from_a_note_of_the_selection_still_moves_all_of_it(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    doc.select_all()
    drag(editor.canvas, [at(editor, 600, 64), at(editor, 800, 66), at(editor, 1080, 66)])
    assert sorted(n[:2] for n in notes_of(editor)) == [(62, 480), (66, 960), (69, 1440)]
    assert len(doc.selection) == 3  # the whole selection moved and stays selected
    assert doc.undo_stack.count() == 1


def test_shift_or_ctrl_click_in_a_selection_does_not_narrow_it(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    doc.select_all()
    click(editor.canvas, at(editor, 600, 64), modifiers=CTRL)
    assert len(doc.selection) == 3
    editor.state.set_tool("select")
    click(editor.canvas, at(editor, 600, 64), modifiers=SHIFT)  # Shift toggles it off
    assert sorted(doc.selection.tolist()) == sorted(ids_at(editor, [60, 67]).tolist())


def test_vertical_drag_while_drawing_keeps_the_note_length(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    # Pressed in the middle of a grid step and dragged straight down a few rows.
    press = at(editor, 4 * TPB + 60, 70)
    drag(editor.canvas, [press, press + QPointF(0, 20), press + QPointF(1, 40)])
    assert (70, 4 * TPB, TPB, 100) in notes_of(editor)  # the last length (one beat)
    assert editor.state.last_length_beats == 1.0
    click(editor.canvas, at(editor, 8 * TPB, 71))
    assert (71, 8 * TPB, TPB, 100) in notes_of(editor)
    assert doc.undo_stack.count() == 2


def _centre(widget):
    return widget.rect().center()


def test_click_on_a_track_name_or_anywhere_on_its_row_makes_it_active(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    editor.track_list.add_button.click()  # three tracks, the new one active
    rows = editor.track_list.rows
    qtbot.mouseClick(rows[0].name_edit, Qt.MouseButton.LeftButton, pos=_centre(rows[0].name_edit))
    assert doc.active_track == 0
    assert rows[0].name_edit.isReadOnly()  # a click selects; it does not start renaming
    # The row's own background, between its widgets.
    row = rows[1]
    gap = row.instrument.geometry().top() - 1
    qtbot.mouseClick(row, Qt.MouseButton.LeftButton, pos=row.rect().topLeft() + QPoint(2, gap))
    assert doc.active_track == 1
    qtbot.mouseClick(rows[2].mute_button, Qt.MouseButton.LeftButton)
    assert doc.active_track == 2 and doc.song.tracks[2].mute
    corner = rows[0].rect().bottomRight() - QPoint(2, 2)
    qtbot.mouseClick(rows[0], Qt.MouseButton.LeftButton, pos=corner)
    assert doc.active_track == 0


def test_double_click_on_a_track_name_renames_it(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    name = editor.track_list.rows[1].name_edit
    qtbot.mouseDClick(name, Qt.MouseButton.LeftButton, pos=_centre(name))
    assert doc.active_track == 1 and not name.isReadOnly()
    qtbot.keyClicks(name, "Alto")
    qtbot.keyClick(name, Qt.Key.Key_Return)
    assert doc.song.tracks[1].name == "Alto"
    assert editor.track_list.rows[1].name_edit.isReadOnly()
