"""The controller lane under the roll: switch it, draw the pedal and swells, undo."""

from __future__ import annotations

import numpy as np
import pytest
from editor_helpers import TPB, drag, make_editor, send
from PySide6.QtCore import QEvent, QPointF, Qt

from studio.core import edits
from studio.core.song import EXPRESSION, MODULATION, SUSTAIN, Controllers, Notes, Song, Track


def lane_events(editor, number: int) -> list[tuple[int, int]]:
    lane = editor.document.song.tracks[editor.document.active_track].controllers.of(number)
    return list(zip(lane.tick.tolist(), lane.value.tolist(), strict=True))


def lane_point(editor, tick: float, value: int) -> QPointF:
    lane = editor.controller_lane
    return QPointF(editor.view.x_of(tick) + 1, lane._y_of(value))


def switch_to(qtbot, editor, text: str) -> None:
    button = next(b for b in editor.lane_selector.buttons.values() if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_switch_lane_to_sustain_draw_a_pedal_press_and_undo(qtbot):
    editor = make_editor(qtbot)
    doc = editor.document
    assert editor.lanes.currentWidget() is editor.velocity
    switch_to(qtbot, editor, "Sus")
    assert editor.lanes.currentWidget() is editor.controller_lane
    assert editor.controller_lane.number == SUSTAIN
    before = doc.song.copy()
    # Drag along the top from beat 1 to beat 3: pedal down there, up right after.
    drag(
        editor.controller_lane,
        [lane_point(editor, TPB, 120), lane_point(editor, 2 * TPB, 118),
         lane_point(editor, 3 * TPB, 125)],
    )  # fmt: skip
    step = editor.state.grid_ticks(TPB)
    assert lane_events(editor, SUSTAIN) == [(TPB, 127), (3 * TPB + step, 0)]
    spans = doc.song.tracks[0].controllers.sustain_spans(doc.song.end_tick)
    assert spans.tolist() == [[TPB, 3 * TPB + step]]
    assert doc.undo_stack.count() == 1  # the whole stroke is one step
    doc.undo_stack.undo()
    assert doc.song == before
    doc.undo_stack.redo()
    assert lane_events(editor, SUSTAIN) == [(TPB, 127), (3 * TPB + step, 0)]


def test_lower_half_lifts_the_pedal_inside_a_press(qtbot):
    song = Song(
        "pedalled",
        TPB,
        tracks=[
            Track(
                "Piano",
                notes=Notes([60], [0], [4 * TPB]),
                controllers=Controllers([0, 4 * TPB], [SUSTAIN, SUSTAIN], [127, 0]),
            )
        ],
    )
    editor = make_editor(qtbot, song)
    switch_to(qtbot, editor, "Sus")
    drag(editor.controller_lane, [lane_point(editor, TPB, 10), lane_point(editor, TPB, 10)])
    step = editor.state.grid_ticks(TPB)
    # Lifted for one grid step at beat 1, then down again as it was.
    assert lane_events(editor, SUSTAIN) == [(0, 127), (TPB, 0), (TPB + step, 127), (4 * TPB, 0)]


def test_modulation_and_expression_are_separate_lanes(qtbot):
    editor = make_editor(qtbot)
    switch_to(qtbot, editor, "Mod")
    drag(editor.controller_lane, [lane_point(editor, 0, 0), lane_point(editor, TPB, 127)])
    mod = lane_events(editor, MODULATION)
    assert mod[0] == (0, 0) or mod[0][0] > 0  # a rising line from 0...
    values = [v for _, v in mod]
    assert values[:-1] == sorted(values[:-1]) and max(values) >= 120
    assert mod[-1][1] == 0  # ...and back to the value before the stroke afterwards
    switch_to(qtbot, editor, "Expr")
    assert editor.controller_lane.number == EXPRESSION
    drag(editor.controller_lane, [lane_point(editor, 2 * TPB, 64), lane_point(editor, 2 * TPB, 64)])
    assert lane_events(editor, EXPRESSION)[0] == (2 * TPB, 64)
    assert lane_events(editor, MODULATION) == mod  # untouched
    switch_to(qtbot, editor, "Vel")
    assert editor.lanes.currentWidget() is editor.velocity


def test_right_drag_erases_events(qtbot):
    editor = make_editor(qtbot)
    switch_to(qtbot, editor, "Sus")
    drag(editor.controller_lane, [lane_point(editor, TPB, 120), lane_point(editor, 2 * TPB, 120)])
    assert lane_events(editor, SUSTAIN)
    lane = editor.controller_lane
    right = Qt.MouseButton.RightButton
    send(lane, QEvent.Type.MouseButtonPress, lane_point(editor, 0, 50), right)
    send(lane, QEvent.Type.MouseMove, lane_point(editor, 4 * TPB, 50), right)
    send(lane, QEvent.Type.MouseButtonRelease, lane_point(editor, 4 * TPB, 50), right)
    assert lane_events(editor, SUSTAIN) == []
    assert editor.document.undo_stack.count() == 2


def test_lane_shows_the_active_track(qtbot):
    editor = make_editor(qtbot)
    switch_to(qtbot, editor, "Sus")
    drag(editor.controller_lane, [lane_point(editor, 0, 127), lane_point(editor, TPB, 127)])
    editor.document.set_active_track(1)
    assert lane_events(editor, SUSTAIN) == []  # the other track has no pedal
    image = editor.controller_lane.grab().toImage()
    assert image.width() > 0  # paints without error for an empty lane too


# -- the edit record itself (no Qt) ----------------------------------------------------------
def test_set_controller_lane_has_an_exact_inverse_and_composes():
    song = Song(tracks=[Track(controllers=Controllers([0, 10, 20], [1, 64, 1], [5, 127, 9]))])
    new_lane = Controllers([30], [64], [127])
    changed, inverse = edits.apply(song, edits.SetControllerLane(0, 64, new_lane))
    assert changed.tracks[0].controllers.of(64) == new_lane
    assert changed.tracks[0].controllers.of(1) == song.tracks[0].controllers.of(1)
    restored, _ = edits.apply(changed, inverse)
    assert restored == song
    first = edits.SetControllerLane(0, 64, Controllers([1], [64], [127]))
    second = edits.SetControllerLane(0, 64, new_lane)
    assert edits.compose(first, second) is second
    assert edits.compose(first, edits.SetControllerLane(0, 1, new_lane.of(1))) is None
    with pytest.raises(ValueError, match="controller 64"):
        edits.apply(song, edits.SetControllerLane(0, 64, Controllers([0], [1], [3])))
    assert np.array_equal(song.tracks[0].controllers.tick, [0, 10, 20])  # song untouched


def test_view_menu_switches_the_lane_too(qtbot):
    editor = make_editor(qtbot)
    editor.commands.trigger("view.lane.sus")
    assert editor.lanes.currentWidget() is editor.controller_lane
    assert editor.lane_selector.buttons[SUSTAIN].isChecked()
    assert editor.commands.action("view.lane.sus").isChecked()
    editor.commands.trigger("view.lane.vel")
    assert editor.lanes.currentWidget() is editor.velocity
    assert editor.commands.action("view.lane.sus").text() == "Sustain Pedal Lane"


def test_a_stroke_that_changes_nothing_leaves_no_undo_step(qtbot):
    editor = make_editor(qtbot)
    switch_to(qtbot, editor, "Sus")
    # The pedal is up everywhere; drawing "up" changes nothing.
    drag(editor.controller_lane, [lane_point(editor, TPB, 5), lane_point(editor, 2 * TPB, 5)])
    assert lane_events(editor, SUSTAIN) == []
    assert editor.document.undo_stack.count() == 0
