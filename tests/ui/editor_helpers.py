"""Helpers for editor tests: a known view, and mouse events sent like a user's."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from studio.core.song import Notes, Song, Track
from studio.ui.document import SongDocument
from studio.ui.editor import PianoRollEditor

TPB = 480
PX_PER_BEAT = 96.0  # 1 px = 5 ticks
ROW = 12.0
TOP_PITCH = 84  # pitch whose row is at the top of the canvas


def make_song() -> Song:
    melody = Notes([60, 64, 67], [0, 480, 960], [480, 480, 480], [100, 90, 80])
    ghost = Notes([72], [1920], [960])
    return Song(
        "test",
        TPB,
        tracks=[Track("Melody", notes=melody), Track("Ghost", colour="#ffb74d", notes=ghost)],
    )


def make_editor(qtbot, song: Song | None = None) -> PianoRollEditor:
    doc = SongDocument(song if song is not None else make_song())
    editor = PianoRollEditor(doc)
    qtbot.addWidget(editor)
    editor.resize(1100, 700)
    editor.show()
    qtbot.waitExposed(editor)
    view = editor.view
    view.px_per_beat = PX_PER_BEAT
    view.row_height = ROW
    view.left_tick = 0.0
    view.top_px = (127 - TOP_PITCH) * ROW
    view.changed.emit()
    return editor


def at(editor: PianoRollEditor, tick: float, pitch: int) -> QPointF:
    """Canvas position of a tick on the middle of a pitch row."""
    view = editor.view
    return QPointF(view.x_of(tick), view.y_of(pitch) + view.row_height / 2)


def send(
    widget: QWidget,
    kind: QEvent.Type,
    pos: QPointF,
    button: Qt.MouseButton = Qt.MouseButton.LeftButton,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    which = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else button
    global_pos = QPointF(widget.mapToGlobal(QPoint(int(pos.x()), int(pos.y()))))
    event = QMouseEvent(kind, QPointF(pos), global_pos, which, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(
    widget: QWidget,
    points: list[QPointF],
    button: Qt.MouseButton = Qt.MouseButton.LeftButton,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    """Press at the first point, move through the rest, release at the last."""
    send(widget, QEvent.Type.MouseButtonPress, points[0], button, modifiers)
    for point in points[1:]:
        send(widget, QEvent.Type.MouseMove, point, button, modifiers)
    send(widget, QEvent.Type.MouseButtonRelease, points[-1], button, modifiers)


def click(widget, pos, button=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier):
    drag(widget, [pos], button, modifiers)


def notes_of(editor: PianoRollEditor, track: int = 0) -> list[tuple[int, int, int, int]]:
    notes = editor.document.song.tracks[track].notes
    return [(n.pitch, n.start, n.duration, n.velocity) for n in notes]


def ids_at(editor: PianoRollEditor, pitches: list[int]) -> np.ndarray:
    notes = editor.document.active_notes()
    return notes.ids[np.isin(notes.pitch, pitches)]
