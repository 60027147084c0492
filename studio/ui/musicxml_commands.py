"""File ▸ Import MusicXML… and File ▸ Export MusicXML…: the dialogs around core/musicxml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from studio.core.musicxml import (
    MUSICXML_FILTER,
    MUSICXML_SUFFIXES,
    MusicXmlExportError,
    MusicXmlImportError,
    load_musicxml,
    save_musicxml,
)
from studio.core.project import Project
from studio.ui.commands import Command, CommandRegistry
from studio.ui.file_loader import (
    SHOW_PROGRESS_AFTER_MS,
    open_error_text,
    open_song_file,
    save_error_text,
)
from studio.ui.recent import ask_save_path, last_folder, remember_folder, suggest_path
from studio.ui.workers import start_generator

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow


def register(registry: CommandRegistry, window: MainWindow) -> None:
    registry.add(
        Command(
            "file.import_musicxml",
            "Import MusicXML…",
            "file",
            lambda doc, w: import_musicxml_dialog(w),
            tip="Open a score from MuseScore, Sibelius or Dorico (.musicxml, .mxl)",
            section="import",
        ),
        Command(
            "file.export_musicxml",
            "Export MusicXML…",
            "file",
            lambda doc, w: export_musicxml_dialog(w),
            tip="Write the song as a score for MuseScore, Sibelius or Dorico",
            section="export",
        ),
        context=window,
    )


def import_musicxml_dialog(window: MainWindow) -> bool:
    if not window.maybe_save():
        return False
    path, _ = QFileDialog.getOpenFileName(window, "Import MusicXML", last_folder(), MUSICXML_FILTER)
    return bool(path) and import_musicxml(window, path)


def _in_worker(
    window: MainWindow, text: str, func: Callable[..., Any], *args: Any
) -> tuple[Any, BaseException | None]:
    """Run ``func(*args)`` in a worker while the window keeps painting; after a moment a
    busy dialog says what is happening. Returns (result, error)."""
    outcome: dict[str, Any] = {"result": None, "error": None, "finished": False}
    loop = QEventLoop()
    dialog = QProgressDialog(text, "", 0, 0, window)
    dialog.setWindowTitle("Pianola")
    dialog.setCancelButton(None)  # an atomic write is finished or not started, never cut
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(2**30)  # shown by the timer below, not by setValue

    def returned(value: object) -> None:
        outcome["result"] = value

    def errored(error: object) -> None:
        outcome["error"] = error if isinstance(error, BaseException) else RuntimeError(error)

    def finished() -> None:
        outcome["finished"] = True
        loop.quit()

    start_generator(
        func, *args, name="pianola-musicxml",
        connect={"returned": returned, "errored": errored, "finished": finished},
    )  # fmt: skip
    timer = QTimer(dialog)
    timer.setSingleShot(True)
    timer.timeout.connect(dialog.show)
    timer.start(SHOW_PROGRESS_AFTER_MS)
    if not outcome["finished"]:
        loop.exec()
    timer.stop()
    dialog.hide()
    dialog.deleteLater()
    return outcome["result"], outcome["error"]


def read_musicxml(path: str, progress: Callable[..., None] | None = None) -> Project:
    """The file loader's reader for MusicXML (music21 reports no progress)."""
    return Project(load_musicxml(path))


def import_musicxml(window: MainWindow, path: str) -> bool:
    """Open a MusicXML file as the song; on failure explain and keep the current song.

    The file is read in a worker (a large score takes music21 seconds), with the same
    progress dialog and Cancel as File ▸ Open.
    """
    loaded = open_song_file(window, path, loader=read_musicxml)
    if loaded.cancelled:
        window.statusBar().showMessage(f"Importing {Path(path).name} was cancelled", 5000)
        return False
    if loaded.error is not None or loaded.project is None:
        error = loaded.error or RuntimeError("nothing was read")
        text = (
            str(error) if isinstance(error, MusicXmlImportError) else open_error_text(error, path)
        )
        QMessageBox.critical(window, "Cannot import MusicXML", text)
        return False
    song = loaded.project.song
    remember_folder(path)
    window.document.set_song(song, path)
    window.statusBar().showMessage(
        f"Imported {Path(path).name}: {len(song.tracks)} part"
        f"{'' if len(song.tracks) == 1 else 's'}, {song.note_count} notes",
        5000,
    )
    return True


def export_musicxml_dialog(window: MainWindow) -> bool:
    doc = window.document
    suggestion = suggest_path(doc.path, doc.song.title, ".musicxml")
    path = ask_save_path(
        window, "Export MusicXML", suggestion, MUSICXML_FILTER, ".musicxml", MUSICXML_SUFFIXES
    )
    return bool(path) and export_musicxml(window, path)


def export_musicxml(window: MainWindow, path: str) -> bool:
    """Write the song as MusicXML in a worker (a long song takes music21 seconds)."""
    report, error = _in_worker(window, f"Exporting {Path(path).name}…", save_musicxml,
                               window.document.song, path)  # fmt: skip
    if error is not None or report is None:
        text = (
            str(error)
            if isinstance(error, MusicXmlExportError)
            else save_error_text(error or RuntimeError("nothing was written"), path)
        )
        QMessageBox.critical(window, "Cannot export MusicXML", text)
        return False
    remember_folder(path)
    message = f"Exported {Path(path).name} (key: {report.key})"
    if report.moved_to_grid:
        message += (
            f"; {report.moved_to_grid} note{'' if report.moved_to_grid == 1 else 's'} "
            "moved to the nearest 64th or triplet for notation"
        )
    window.statusBar().showMessage(message, 8000)
    return True
