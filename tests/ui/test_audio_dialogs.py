"""Export Audio's dialog: it asks before replacing a file and never writes into the bundled data."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox

from studio.paths import resource_path
from studio.ui import audio_dialogs
from studio.ui.audio_dialogs import ExportAudioDialog


def save(dialog: ExportAudioDialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()


def test_an_existing_wav_is_replaced_only_when_the_composer_says_so(qtbot, tmp_path, monkeypatch):
    existing = tmp_path / "take.wav"
    existing.write_bytes(b"RIFF")
    asked: list[str] = []
    answer = [False]

    def confirm(parent, path):
        asked.append(path)
        return answer[0]

    monkeypatch.setattr(audio_dialogs, "confirm_overwrite", confirm)
    dialog = ExportAudioDialog(str(existing), False, 44100)
    qtbot.addWidget(dialog)
    save(dialog)
    assert asked == [str(existing)] and dialog.result() != QDialog.DialogCode.Accepted
    answer[0] = True
    save(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.choice().path == str(existing)
    assert existing.read_bytes() == b"RIFF"  # the dialog only chooses; nothing written yet


def test_the_bundled_data_folder_is_refused(qtbot, monkeypatch):
    monkeypatch.setattr(audio_dialogs, "confirm_overwrite", lambda parent, path: True)
    dialog = ExportAudioDialog(str(resource_path("song.wav")), False, 44100)
    qtbot.addWidget(dialog)
    save(dialog)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "bundled" in dialog.error.text()
