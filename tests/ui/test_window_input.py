"""Keys and the wheel in the whole window, as a composer uses them (issue 14, point 2)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.song import Notes, Song, Track
from studio.ui.commands import Command, CommandConflict
from studio.ui.main_window import MainWindow, WindowParts

K = Qt.Key


def song() -> Song:
    notes = Notes([60, 64, 67, 72], [0, 1920, 3840, 7680], [480, 480, 480, 480])
    return Song("Four bars", tracks=[Track("Piano", notes=notes)])


class FakePanel(QScrollArea):
    """A dock panel like Generation: a button, a name field and value fields in a scroll area."""

    def __init__(self) -> None:
        super().__init__()
        body = QWidget()
        layout = QVBoxLayout(body)
        self.button = QPushButton("Generate")
        self.name = QLineEdit()
        self.tempo = QSpinBox()
        self.tempo.setRange(20, 300)
        self.tempo.setValue(120)
        self.mode = QComboBox()
        self.mode.addItems(["New", "Harmonize", "Continue"])
        self.amount = QSlider(Qt.Orientation.Horizontal)
        self.amount.setRange(0, 100)
        self.amount.setValue(50)
        for widget in (self.button, self.name, self.tempo, self.mode, self.amount):
            layout.addWidget(widget)
            layout.addSpacing(300)  # taller than the dock: the panel scrolls
        self.setWidget(body)
        self.setWidgetResizable(True)


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    window.maybe_save = lambda: True
    qtbot.addWidget(window)
    window.set_song(song())
    window.panel = FakePanel()
    window.add_panel(window.panel, "Generation", Qt.DockWidgetArea.BottomDockWidgetArea)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    return window


def pitches(window: MainWindow) -> list[int]:
    return window.document.song.tracks[0].notes.pitch.tolist()


def wheel(widget: QWidget, notches: int = -1) -> None:
    """One mouse-wheel turn over the middle of `widget` (negative: towards the user)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_single_keys_work_after_clicking_a_panel_button(qtbot, window):
    view = window.editor.view
    window.editor.zoom_to_fit()
    fit = view.px_per_tick
    view.zoom_x(4.0)  # zoomed in: F (zoom to fit) must change the view
    assert view.px_per_tick > 2 * fit
    qtbot.mouseClick(window.panel.button, Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is window.panel.button
    qtbot.keyClick(window.panel.button, K.Key_F)
    assert view.px_per_tick == pytest.approx(fit)  # the whole song is in view again
    window.document.select_all()
    qtbot.keyClick(window.panel.button, K.Key_Up)  # transpose, from the panel
    assert pitches(window) == [61, 65, 68, 73]
    qtbot.keyClick(window.panel.button, K.Key_Delete)
    assert pitches(window) == []


def test_text_and_value_fields_keep_their_keys(qtbot, window):
    window.document.select_all()
    panel = window.panel
    qtbot.mouseClick(panel.name, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.name, "fugue")  # F, E, G, D... are all editor shortcuts
    qtbot.keyClick(panel.name, K.Key_Backspace)
    qtbot.keyClick(panel.name, K.Key_Left)
    qtbot.keyClick(panel.name, K.Key_Delete)
    assert panel.name.text() == "fug"
    assert window.editor.state.tool == "draw" and window.editor.state.snap_enabled
    panel.tempo.setFocus()
    qtbot.keyClick(panel.tempo, K.Key_Up)
    assert panel.tempo.value() == 121
    panel.mode.setFocus()
    qtbot.keyClick(panel.mode, K.Key_Down)
    assert panel.mode.currentText() == "Harmonize"
    panel.amount.setFocus()
    qtbot.keyClick(panel.amount, K.Key_Right)
    assert panel.amount.value() == 51
    assert pitches(window) == [60, 64, 67, 72]  # no note was transposed or deleted
    # Keys with Ctrl stay commands even in a text field's neighbours.
    qtbot.keyClick(panel.amount, K.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.document.selection) == 4


def test_the_wheel_scrolls_the_panel_instead_of_changing_an_unfocused_field(qtbot, window):
    panel = window.panel
    window.panel.button.setFocus()
    bar = panel.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    for field, value in ((panel.tempo, 120), (panel.mode, 0), (panel.amount, 50)):
        before = bar.value()
        wheel(field)
        current = field.currentIndex() if isinstance(field, QComboBox) else field.value()
        assert current == value, type(field).__name__
        assert bar.value() > before  # the panel scrolled down instead
    # A field the composer clicked into takes the wheel.
    panel.tempo.setFocus()
    wheel(panel.tempo, notches=1)
    assert panel.tempo.value() == 121
    assert panel.tempo.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel never focuses


def test_shortcuts_dialog_lists_only_our_commands(window):
    dialog = window.show_shortcuts()
    rows = dialog.rows()
    dialog.close()
    commands = window.commands.commands()
    assert [title for title, _ in rows] == [c.title for c in commands]
    # Only keys a keyboard has: Qt's standard Undo/Cut also list "Undo"/"F14", "Cut"/"F20".
    shortcuts = dict(rows)
    assert shortcuts["Undo"].split(", ")[0] == "Ctrl+Z" and "Undo" not in shortcuts["Undo"]
    assert "Cut" not in shortcuts["Cut"] and "Ctrl+X" in shortcuts["Cut"]
    for command in commands:
        for sequence in command.key_sequences():
            assert sequence[0].key() < Qt.Key.Key_F13, (command.id, sequence.toString())
    # Every key that does anything in the window is one of ours, and is listed.
    from PySide6.QtGui import QAction

    bound = {
        sequence.toString()
        for action in window.findChildren(QAction)
        for sequence in action.shortcuts()
        if not sequence.isEmpty()
    }
    listed = {s.toString() for c in commands for s in c.key_sequences()}
    assert bound == listed


def test_a_key_or_id_cannot_be_declared_twice(window):
    registry = window.commands
    twice = Command("view.zoom_fit_again", "Fit Again", "view", lambda d, w: None, ("F",))
    with pytest.raises(CommandConflict, match=r"F is bound to both view\.zoom_fit"):
        registry.add(twice, context=window)
    same_id = Command("file.new", "Another New", "file", lambda d, w: None)
    with pytest.raises(CommandConflict, match=r"file\.new"):
        registry.add(same_id, context=window)
    assert "view.zoom_fit_again" not in registry


def test_a_late_command_lands_in_its_section_with_its_state(qtbot, window):
    calls: list[str] = []
    state = {"enabled": False}
    command = Command(
        "file.export_test",
        "Export Test…",
        "file",
        lambda d, w: calls.append("ran"),
        ("Ctrl+Alt+T",),
        section="export",
        enabled=lambda w: state["enabled"],
    )
    (action,) = window.commands.add(command, context=window)
    titles = [a.text() for a in window.menu("file").actions()]
    place = titles.index("Export Test…")  # last of the export section, before Quit's
    assert titles.index("Export MIDI…") < place and titles[place + 1 :] == ["", "Quit"]
    assert not action.isEnabled()
    action.trigger()
    assert calls == []
    state["enabled"] = True
    window.menu("file").aboutToShow.emit()  # opening the menu re-reads the state
    assert action.isEnabled()
    qtbot.keyClick(window.editor.canvas, K.Key_T, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.AltModifier)  # fmt: skip
    assert calls == ["ran"]
    assert "Ctrl+Alt+T" in dict(window.show_shortcuts().rows()).values()


def test_scrolling_over_the_generation_panel_leaves_its_tempo_alone(qtbot):
    window = MainWindow(parts=WindowParts(panels=True))
    window.maybe_save = lambda: True
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    panel = window.panels.generation
    tempo = panel.tempo
    before = tempo.value()
    assert not tempo.hasFocus()
    for _ in range(4):
        wheel(tempo)
    assert tempo.value() == before
    window.editor.canvas.setFocus()
    window.editor.zoom_to_fit()
    fit = window.editor.view.px_per_tick
    window.editor.view.zoom_x(3.0)
    panel.generate_button.setFocus()  # a panel button was the last thing clicked
    qtbot.keyClick(panel.generate_button, K.Key_F)
    assert window.editor.view.px_per_tick == pytest.approx(fit)


def test_choosing_a_snap_value_leaves_the_arrow_keys_with_the_notes(qtbot, window):
    editor = window.editor
    editor.canvas.setFocus()
    window.document.select_all()
    snap = editor.toolbar.snap
    qtbot.mouseClick(snap, Qt.MouseButton.LeftButton)  # opens its list
    snap.hidePopup()
    snap.setCurrentIndex(0)  # a value was chosen
    assert QApplication.focusWidget() is editor.canvas
    qtbot.keyClick(editor.canvas, K.Key_Up)
    assert pitches(window) == [61, 65, 68, 73]
    assert snap.currentIndex() == 0
