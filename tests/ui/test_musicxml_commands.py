"""File ▸ Import MusicXML… and File ▸ Export MusicXML… as a composer uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.core.musicxml import load_musicxml, save_musicxml
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track
from studio.ui.main_window import MainWindow


def duet() -> Song:
    return Song(
        "Duet",
        480,
        [TempoChange(0, 72)],
        [TimeSignature(0, 3, 4)],
        [
            Track("Violin", 40, notes=Notes([76, 74, 72], [0, 480, 960], [480, 480, 480])),
            Track("Cello", 42, notes=Notes([48, 43], [0, 960], [960, 480])),
        ],
    )


@pytest.fixture
def dialogs(monkeypatch):
    shown: dict[str, list] = {"critical": [], "question": []}
    answers = {"question": QMessageBox.StandardButton.Yes, "save": "", "open": ""}

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


def _menu_titles(window: MainWindow) -> list[str]:
    return [a.text() for a in window.menu("file").actions()]


def test_file_menu_lists_both_commands(window):
    titles = _menu_titles(window)
    assert "Import MusicXML…" in titles and "Export MusicXML…" in titles


def test_import_musicxml_opens_the_score(window, dialogs, tmp_path):
    _, answers = dialogs
    save_musicxml(duet(), tmp_path / "duet.mxl")
    answers["open"] = str(tmp_path / "duet.mxl")
    window.commands.action("file.import_musicxml").trigger()
    song = window.document.song
    assert [t.name for t in song.tracks] == ["Violin", "Cello"]
    assert song.tracks[0].notes.same_notes(duet().tracks[0].notes)
    assert song.time_signatures == [TimeSignature(0, 3, 4)] and song.initial_bpm == 72
    assert "duet.mxl" in window.windowTitle()


def test_unreadable_musicxml_explains_and_keeps_the_song(window, dialogs, tmp_path):
    shown, answers = dialogs
    window.document.set_song(duet(), None)
    bad = tmp_path / "broken.musicxml"
    bad.write_text("<score-partwise><part id='P1'>", encoding="utf-8")
    answers["open"] = str(bad)
    window.commands.action("file.import_musicxml").trigger()
    assert len(shown["critical"]) == 1
    title, text = shown["critical"][0]
    assert title == "Cannot import MusicXML" and "broken.musicxml" in text
    assert window.document.song == duet()
    assert bad.read_text(encoding="utf-8") == "<score-partwise><part id='P1'>"


def test_export_musicxml_writes_parts_and_adds_the_suffix(window, dialogs, tmp_path):
    _, answers = dialogs
    window.document.set_song(duet(), None)
    answers["save"] = str(tmp_path / "duet")
    window.commands.action("file.export_musicxml").trigger()
    back = load_musicxml(tmp_path / "duet.musicxml")
    assert [t.name for t in back.tracks] == ["Violin", "Cello"]
    assert "Exported duet.musicxml" in window.statusBar().currentMessage()


def test_export_asks_before_replacing_and_cancel_keeps_the_file(window, dialogs, tmp_path):
    shown, answers = dialogs
    window.document.set_song(duet(), None)
    target = tmp_path / "score.mxl"
    target.write_bytes(b"precious")
    answers["save"] = str(target)
    answers["question"] = QMessageBox.StandardButton.Cancel
    window.commands.action("file.export_musicxml").trigger()
    assert len(shown["question"]) == 1 and "score.mxl" in shown["question"][0][1]
    assert target.read_bytes() == b"precious"
    answers["question"] = QMessageBox.StandardButton.Yes
    window.commands.action("file.export_musicxml").trigger()
    assert [t.name for t in load_musicxml(target).tracks] == ["Violin", "Cello"]


def test_failed_export_shows_one_error(window, dialogs, tmp_path):
    shown, answers = dialogs
    answers["save"] = str(tmp_path / "no-such-folder" / "x.musicxml")
    window.commands.action("file.export_musicxml").trigger()
    assert [title for title, _ in shown["critical"]] == ["Cannot export MusicXML"]
    assert not Path(answers["save"]).exists()
