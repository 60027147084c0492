"""File ▸ Open Recent, where file dialogs start, overwrite questions, Help ▸ About."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

import studio
from studio.core.midi_io import load_midi, save_midi
from studio.core.song import Notes, Song, Track
from studio.paths import bach_dataset_dir
from studio.ui.main_window import MainWindow


def chorale(title: str = "Chorale") -> Song:
    notes = Notes([72, 74], [0, 480], [480, 480])
    return Song(title, tracks=[Track("Soprano", notes=notes)])


@pytest.fixture
def dialogs(monkeypatch):
    """Answer file dialogs and message boxes; record what they were asked and shown."""
    seen: dict[str, list] = {"save_dir": [], "open_dir": [], "question": [], "critical": []}
    answers = {"save": "", "open": "", "question": QMessageBox.StandardButton.Cancel}

    def save(parent, title, directory="", *args, **kwargs):
        seen["save_dir"].append(directory)
        return answers["save"], ""

    def open_(parent, title, directory="", *args, **kwargs):
        seen["open_dir"].append(directory)
        return answers["open"], ""

    def question(parent, title, text, *args, **kwargs):
        seen["question"].append((title, text))
        return answers["question"]

    def critical(parent, title, text, *args, **kwargs):
        seen["critical"].append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_)
    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "critical", critical)
    return seen, answers


def bundled_chorale() -> Path:
    return sorted(bach_dataset_dir().glob("*.mid"))[0]


def entry_names(window: MainWindow) -> list[str]:
    window.recent_menu.aboutToShow.emit()  # as when the composer opens File ▸ Open Recent
    return [Path(a.data()).name for a in window.recent_menu.entries()]


def test_open_recent_lists_songs_and_projects_newest_first(qtbot, window, tmp_path, dialogs):
    first, second = tmp_path / "first.mid", tmp_path / "second.mid"
    for path in (first, second):
        save_midi(chorale(path.stem), path)
    assert window.open_path(first) and window.open_path(second)
    _seen, answers = dialogs
    answers["save"] = str(tmp_path / "project")
    assert window.save_as()  # a saved project is recent too
    assert entry_names(window) == ["project.pianola", "second.mid", "first.mid"]

    # Choosing an entry opens it.
    entry = next(a for a in window.recent_menu.entries() if a.data().endswith("first.mid"))
    entry.trigger()
    assert window.document.path == str(first)
    assert entry_names(window)[0] == "first.mid"

    # The list outlives the window (QSettings: a test folder, never the user's).
    assert QSettings().fileName().startswith(os.environ["XDG_CONFIG_HOME"])
    other = MainWindow()
    qtbot.addWidget(other)
    assert entry_names(other) == ["first.mid", "project.pianola", "second.mid"]


def test_a_recent_file_that_is_gone_explains_and_leaves_the_list(window, tmp_path, dialogs):
    seen, _answers = dialogs
    path = tmp_path / "moved.mid"
    save_midi(chorale(), path)
    assert window.open_path(path)
    window.new_song()
    path.unlink()
    entry = window.recent_menu.entries()[0]
    entry.trigger()
    assert seen["critical"] and "moved.mid" in seen["critical"][0][1]
    assert window.document.path is None
    assert entry_names(window) == []


def test_clear_recent(window, tmp_path, dialogs):
    clear = window.actions_by_id["file.clear_recent"]
    path = tmp_path / "song.mid"
    save_midi(chorale(), path)
    window.open_path(path)
    assert entry_names(window) == ["song.mid"]
    assert clear in window.recent_menu.actions() and clear.isEnabled()
    clear.trigger()
    assert entry_names(window) == []
    assert not clear.isEnabled()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert "No recent files" in texts


def test_export_of_a_bundled_chorale_starts_in_the_last_folder_and_never_overwrites_it(
    window, tmp_path, dialogs
):
    seen, answers = dialogs
    mine = tmp_path / "mine.mid"
    save_midi(chorale(), mine)
    window.open_path(mine)  # the last folder the composer used
    bundled = bundled_chorale()
    original = bundled.read_bytes()
    assert window.open_path(bundled)
    assert bundled.name not in entry_names(window)  # the bundled set is not "recent"

    answers["save"] = ""  # the composer cancels: we only look at the proposal
    window.actions_by_id["file.export_midi"].trigger()
    proposed = Path(seen["save_dir"][-1])
    assert proposed.parent == tmp_path and proposed.name == bundled.name
    window.actions_by_id["file.save_as"].trigger()
    assert Path(seen["save_dir"][-1]) == tmp_path / bundled.with_suffix(".pianola").name

    answers["save"] = str(bundled)  # the composer picks the bundled file itself
    assert not window.export_midi()
    assert seen["critical"] and "bundled" in seen["critical"][-1][1]
    assert bundled.read_bytes() == original

    window.actions_by_id["file.open_midi"].trigger()  # Open starts in the last folder too
    assert seen["open_dir"][-1] == str(tmp_path)


def test_export_asks_before_replacing_a_file(window, tmp_path, dialogs):
    seen, answers = dialogs
    window.set_song(chorale())
    target = tmp_path / "take.mid"
    target.write_bytes(b"keep me")
    answers["save"] = str(tmp_path / "take")  # the suffix is added after the dialog
    answers["question"] = QMessageBox.StandardButton.Cancel
    assert not window.export_midi()
    assert seen["question"] and "take.mid" in seen["question"][-1][1]
    assert target.read_bytes() == b"keep me"
    answers["question"] = QMessageBox.StandardButton.Yes
    assert window.export_midi()
    assert load_midi(target).tracks[0].notes.pitch.tolist() == [72, 74]


def test_about_shows_version_libraries_and_data_provenance(window):
    dialog = window.show_about()
    assert studio.__version__ in dialog.findChild(type(dialog.dataset), "AboutHeader").text()
    rows = {name: (version, licence) for name, version, licence in dialog.library_rows()}
    assert rows["PyTorch"] == (metadata.version("torch"), "BSD-3-Clause")
    assert rows["PySide6 (Qt for Python)"][1] == "LGPL-3.0"
    assert rows["NumPy"][0] == metadata.version("numpy")
    assert all(version and licence for version, licence in rows.values())
    text = dialog.dataset.text()
    count = len(list(bach_dataset_dir().glob("*.mid")))
    assert f"{count} four-part chorales by J. S. Bach" in text
    assert "music21" in text and "build_bach_dataset.py" in text
    dialog.close()
    assert window.actions_by_id["help.about"].text() == "About Pianola"
