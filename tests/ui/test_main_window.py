"""The main window: files, menus, shortcuts dialog, drag-and-drop, error dialogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QLabel, QMessageBox

from studio.audio.stream import DeviceScan
from studio.core import edits
from studio.core.midi_io import load_midi, save_midi
from studio.core.song import Notes, Song, Track
from studio.ui.main_window import MainWindow, WindowParts


def chorale() -> Song:
    return Song(
        "Chorale",
        tracks=[
            Track("Soprano", notes=Notes([72, 74], [0, 480], [480, 480])),
            Track("Bass", notes=Notes([48, 43], [0, 480], [480, 480])),
        ],
    )


@pytest.fixture
def dialogs(monkeypatch):
    """Record message boxes and answer file dialogs without blocking."""
    shown: dict[str, list] = {"critical": [], "question": []}
    answers = {"question": QMessageBox.StandardButton.Discard, "save": "", "open": ""}

    def critical(parent, title, text, *args, **kwargs):
        shown["critical"].append((title, text))
        return QMessageBox.StandardButton.Ok

    def question(parent, title, text, *args, **kwargs):
        shown["question"].append((title, text))
        return answers["question"]

    monkeypatch.setattr(QMessageBox, "critical", critical)
    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (answers["save"], ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (answers["open"], ""))
    return shown, answers


def test_open_midi_shows_title_and_notes(window, tmp_path, dialogs):
    path = tmp_path / "bwv.mid"
    save_midi(chorale(), path)
    assert window.open_path(path)
    assert "bwv.mid" in window.windowTitle()
    assert not window.isWindowModified()
    assert [t.name for t in window.document.song.tracks] == ["Soprano", "Bass"]
    window.document.push(edits.Transpose(0, [0], 1))
    assert window.isWindowModified()


def test_open_midi_through_the_menu_action(window, tmp_path, dialogs):
    _, answers = dialogs
    path = tmp_path / "menu.mid"
    save_midi(chorale(), path)
    answers["open"] = str(path)
    window.actions_by_id["file.open_midi"].trigger()
    assert window.document.path == str(path)


def test_corrupt_file_shows_error_and_keeps_the_song(window, tmp_path, dialogs):
    shown, _ = dialogs
    window.document.push(edits.AddNotes(0, Notes([60], [0], [480])))
    before = window.document.song
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    assert not window.open_path(bad, ask=False)
    assert shown["critical"] and "broken.mid" in shown["critical"][0][1]
    assert window.document.song is before
    assert window.document.undo_stack.count() == 1
    bad_project = tmp_path / "broken.pianola"
    bad_project.write_text("{not json")
    assert not window.open_path(bad_project, ask=False)
    assert len(shown["critical"]) == 2 and window.document.song is before


def test_save_project_then_reopen(window, tmp_path, dialogs):
    _, answers = dialogs
    window.set_song(chorale())
    window.document.set_active_track(1)
    window.document.push(edits.Transpose(1, [0, 1], -12))
    answers["save"] = str(tmp_path / "song")  # the suffix is added
    assert window.actions_by_id["file.save"].isEnabled()
    window.actions_by_id["file.save"].trigger()
    saved = tmp_path / "song.pianola"
    assert saved.is_file()
    assert not window.document.modified and "song.pianola" in window.windowTitle()
    window.new_song()
    assert window.open_path(saved)
    assert window.document.song.tracks[1].notes.pitch.tolist() == [36, 31]
    assert window.document.active_track == 1
    # A second save goes to the same file without asking.
    window.document.push(edits.Transpose(1, [0], 1))
    answers["save"] = ""
    assert window.save()
    assert not window.document.modified


def test_export_midi(window, tmp_path, dialogs):
    _, answers = dialogs
    window.set_song(chorale())
    answers["save"] = str(tmp_path / "out.mid")
    window.actions_by_id["file.export_midi"].trigger()
    loaded = load_midi(tmp_path / "out.mid")
    assert [t.notes.pitch.tolist() for t in loaded.tracks] == [[72, 74], [48, 43]]


def test_unsaved_changes_prompt_can_cancel_open(window, tmp_path, dialogs):
    shown, answers = dialogs
    path = tmp_path / "other.mid"
    save_midi(chorale(), path)
    window.document.push(edits.AddNotes(0, Notes([60], [0], [480])))
    answers["question"] = QMessageBox.StandardButton.Cancel
    assert not window.open_path(path)
    assert shown["question"] and window.document.path is None
    answers["question"] = QMessageBox.StandardButton.Discard
    assert window.open_path(path)


def test_close_with_changes_can_be_cancelled(window, dialogs):
    _, answers = dialogs
    window.document.push(edits.AddNotes(0, Notes([60], [0], [480])))
    answers["question"] = QMessageBox.StandardButton.Cancel
    assert not window.close()
    answers["question"] = QMessageBox.StandardButton.Discard
    assert window.close()
    assert QSettings().value("MainWindow/geometry") is not None


def test_drag_and_drop_opens_midi(window, tmp_path, dialogs):
    path = tmp_path / "dropped.mid"
    save_midi(chorale(), path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(
        QPointF(50, 50).toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, drop)
    assert window.document.path == str(path)
    text = QMimeData()
    text.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    refused = QDragEnterEvent(
        QPointF(5, 5).toPoint(),
        Qt.DropAction.CopyAction,
        text,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, refused)
    assert not refused.isAccepted()
    score = QMimeData()
    score.setUrls([QUrl.fromLocalFile(str(tmp_path / "from MuseScore.musicxml"))])
    offered = QDragEnterEvent(
        QPointF(5, 5).toPoint(),
        Qt.DropAction.CopyAction,
        score,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, offered)
    assert offered.isAccepted()  # MusicXML opens like MIDI (read by the same file loader)


def test_shortcuts_dialog_lists_exactly_the_registered_actions(window):
    dialog = window.show_shortcuts()
    rows = dialog.rows()
    commands = window.commands.commands()
    assert len(rows) == len(commands) == len(window.actions_by_id)
    for command, (title, shortcut) in zip(commands, rows, strict=True):
        action = window.actions_by_id[command.id]
        assert title == command.title
        assert shortcut == command.shortcut_text()
        assert action.shortcuts() == command.key_sequences()
    # Every command is in exactly one menu (Clear Recent inside File > Open Recent).
    menus = [window.menu(name) for name in ("file", "edit", "view", "tools", "help")]
    menus.append(window.recent_menu)
    placed = [a.objectName() for m in menus for a in m.actions() if a.objectName()]
    assert sorted(placed) == sorted(window.actions_by_id)
    dialog.close()


def test_panels_and_transport_slot(window, qtbot):
    panel = QLabel("training")
    dock = window.add_panel(panel, "Training", Qt.DockWidgetArea.RightDockWidgetArea)
    assert isinstance(dock, QDockWidget) and dock.widget() is panel
    toggle = window.actions_by_id["view.panel.training"]
    assert toggle in window.menu("view").actions()
    qtbot.waitUntil(dock.isVisible)
    assert toggle.isChecked()
    toggle.trigger()  # View > Training Panel hides it, and shows it again
    assert dock.isHidden() and not toggle.isChecked()
    toggle.trigger()
    assert not dock.isHidden() and toggle.isChecked()
    bar = QLabel("transport")
    window.set_transport_bar(bar)
    assert bar.parent() is not None and bar.isVisible()
    assert bar.geometry().top() < window.editor.geometry().top()
    assert window.editor is window.findChild(type(window.editor))
    assert hasattr(window.editor, "ensure_tick_visible") and not window.editor.user_is_dragging


def test_run_app_opens_the_file(qtbot, tmp_path, monkeypatch):
    from studio.ui import app as app_module

    path = tmp_path / "start.mid"
    save_midi(chorale(), path)
    seen = {}
    before = set(QApplication.topLevelWidgets())

    def fake_exec():
        windows = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, MainWindow) and w.isVisible() and w not in before
        ]
        assert len(windows) == 1
        seen["path"] = windows[0].document.path
        for w in windows:
            w.document.undo_stack.setClean()
            w.close()
            w.deleteLater()
        return 0

    monkeypatch.setattr(QApplication.instance(), "exec", fake_exec)
    assert app_module.run_app([str(path)]) == 0
    assert seen["path"] == str(path)
    assert Path(seen["path"]).name == "start.mid"


def test_editor_settings_and_docks_persist(qtbot, dialogs):
    from studio.core.quantize import SNAP_DIVISIONS

    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.editor.state.set_snap(SNAP_DIVISIONS[-1])
    first.editor.state.set_scale(7, "Dorian")
    first.editor.state.set_show_ghosts(False)
    dock = first.add_panel(QLabel("panel"), "Mixer", Qt.DockWidgetArea.LeftDockWidgetArea)
    dock.hide()  # the composer closed this panel
    assert first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    state = second.editor.state
    assert state.snap == SNAP_DIVISIONS[-1]
    assert (state.scale_key, state.scale_name) == (7, "Dorian")
    assert not state.show_ghosts
    assert second.editor.toolbar.scale.currentText() == "Dorian"
    again = second.add_panel(QLabel("panel"), "Mixer", Qt.DockWidgetArea.RightDockWidgetArea)
    assert again.isHidden()


def test_shortcuts_dialog_filter(window):
    dialog = window.show_shortcuts()
    dialog.filter.setText("transpose")
    visible = [
        dialog.table.item(r, 0).text()
        for r in range(dialog.table.rowCount())
        if not dialog.table.isRowHidden(r)
    ]
    assert visible and all("Transpose" in title for title in visible)
    dialog.close()


class NoSound:
    """An audio backend without devices: the window builds its transport, nothing plays."""

    def scan(self, refresh: bool = False) -> DeviceScan:
        return DeviceScan((), "No audio: none in this test.")


def test_no_two_commands_share_a_shortcut(qtbot):
    from studio.audio.midi_input import InjectedMidiBackend

    sound, midi = NoSound(), InjectedMidiBackend()
    parts = WindowParts(audio=True, audio_backend=sound, threaded_audio=False, midi_backend=midi)
    window = MainWindow(parts=parts)  # editor, file, transport, recording, help commands
    qtbot.addWidget(window)
    window.add_panel(QLabel("panel"), "Mixer")
    seen: dict[str, str] = {}
    commands = window.commands.commands()
    assert {"transport.play", "file.export_audio", "view.panel.mixer"} <= {c.id for c in commands}
    for command in commands:
        for sequence in command.key_sequences():
            text = sequence.toString()
            assert text not in seen, f"{text} is bound to {seen[text]} and {command.id}"
            seen[text] = command.id
    window.transport.shutdown()
