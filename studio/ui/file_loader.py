"""Open song files off the GUI thread, with a progress dialog and Cancel.

A 300,000-note MIDI file takes seconds to read; read on the GUI thread, the window froze
for all of them. `open_song_file` reads in a worker (`studio.ui.workers`) and waits in a
local event loop, so the window keeps painting; after a moment a window-modal progress
dialog with Cancel appears. The caller still gets a plain answer (`LoadResult`), which
keeps ``MainWindow.open_path`` a simple function.

Also here: the one-sentence texts of failed saves and opens (`save_error_text`), so
every save path shows the same clear dialog whatever went wrong.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QProgressDialog, QWidget

from studio.core.atomic import write_error_message
from studio.core.files import load_song_file
from studio.core.import_report import LoadCancelled, SongFileError
from studio.core.midi_io import MidiExportError
from studio.core.musicxml import MusicXmlImportError, is_musicxml_path, load_musicxml
from studio.core.project import Project, ProjectError
from studio.logs import log_file
from studio.ui.workers import start_generator

SHOW_PROGRESS_AFTER_MS = 250
_SCALE = 1000

log = logging.getLogger(__name__)

Progress = Callable[..., None]


def _accepts(func: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


@dataclass
class SongFile:
    """What a loader gives back: the project and the import report's sentences."""

    project: Project
    report: tuple[str, ...] = ()


def read_song_file(
    path: str, progress: Progress | None = None, cancel: Callable[[], bool] | None = None
) -> SongFile:
    """A .pianola project, a MIDI file or MusicXML, as a project (MIDI: no view state).

    ``progress(fraction)`` is called now and then; ``cancel()`` returning True stops the
    read (`LoadCancelled`). Runs in the open worker: no Qt here.
    """
    if is_musicxml_path(path):
        return SongFile(Project(load_musicxml(path)))
    loaded = load_song_file(path, progress=progress, cancel=cancel)
    project = loaded.project if loaded.project is not None else Project(loaded.song)
    return SongFile(project, tuple(loaded.report.items))


@dataclass
class LoadResult:
    project: Project | None = None
    error: BaseException | None = None
    cancelled: bool = False
    report: tuple[str, ...] = ()  # what the reader skipped or repaired, in sentences


_busy = False


def open_song_file(
    parent: QWidget | None,
    path: str | os.PathLike[str],
    loader: Callable[..., Project] = read_song_file,
    show_after_ms: int = SHOW_PROGRESS_AFTER_MS,
) -> LoadResult:
    """Read ``path`` with ``loader(path, progress=…, cancel=…)`` in a worker.

    The GUI keeps running meanwhile. Returns when the file is read, has failed, or Cancel
    was pressed (the reader is asked to stop and whatever it returns is dropped). The
    loader returns a `SongFile` or a `Project`; ``cancel`` is passed when it takes one.
    """
    global _busy
    path = str(path)
    if _busy:  # a second open from inside the wait (a quick double action)
        return LoadResult(error=RuntimeError("another file is still being opened"))
    _busy = True
    result = LoadResult()
    loop = QEventLoop()
    dialog = QProgressDialog(f"Opening {Path(path).name}…", "Cancel", 0, 0, parent)
    dialog.setObjectName("OpenProgress")
    dialog.setWindowTitle("Opening")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumDuration(2**30)  # shown by our timer, not by setValue's heuristics
    done = {"finished": False}
    stop = threading.Event()
    polls_cancel = _accepts(loader, "cancel")
    if polls_cancel:
        loader = functools.partial(loader, cancel=stop.is_set)

    def on_progress(value: object) -> None:
        fraction = _fraction(value)
        if fraction is None:
            return
        if dialog.maximum() == 0:
            dialog.setRange(0, _SCALE)
        dialog.setValue(int(fraction * _SCALE))

    def on_returned(value: object) -> None:
        if result.cancelled:
            return
        if isinstance(value, SongFile):
            result.project, result.report = value.project, value.report
        elif isinstance(value, Project):
            result.project = value
        else:
            result.error = TypeError(f"the reader returned {type(value).__name__}")

    def on_errored(error: object) -> None:
        if isinstance(error, LoadCancelled):
            result.cancelled = True
        elif not result.cancelled:
            result.error = error if isinstance(error, BaseException) else RuntimeError(error)

    def on_finished() -> None:
        done["finished"] = True
        loop.quit()

    def on_cancel() -> None:
        result.cancelled = True
        stop.set()  # the reader polls it and stops within ~30 ms of work
        if not polls_cancel:
            handle.abort()  # its next progress report raises WorkerAborted
        loop.quit()

    try:
        handle = start_generator(
            loader,
            path,
            report_arg="progress",
            name="pianola-open-file",
            connect={
                "yielded": on_progress,
                "returned": on_returned,
                "errored": on_errored,
                "finished": on_finished,
            },
        )
        dialog.canceled.connect(on_cancel)
        timer = QTimer(dialog)
        timer.setSingleShot(True)
        timer.timeout.connect(dialog.show)
        timer.start(max(0, show_after_ms))
        if not done["finished"]:
            loop.exec()
        timer.stop()
    finally:
        _busy = False
        dialog.hide()
        dialog.deleteLater()
    if result.cancelled:
        log.info("opening %s was cancelled", path)
    elif result.error is not None:
        error = result.error
        expected = isinstance(error, _EXPECTED)
        log.log(logging.WARNING if expected else logging.ERROR, "cannot open %s", path,
                exc_info=None if expected else error)  # fmt: skip
    return result


def _fraction(value: object) -> float | None:
    """A progress report as 0..1: ``(done, total)`` or a fraction."""
    if isinstance(value, tuple) and len(value) == 2:
        done, total = value
        if isinstance(done, (int, float)) and isinstance(total, (int, float)) and total > 0:
            return min(1.0, max(0.0, done / total))
        return None
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return float(value)
    return None


_EXPECTED = (SongFileError, MusicXmlImportError, OSError)


def open_error_text(error: BaseException, path: str) -> str:
    """One sentence for a file that cannot be opened."""
    if isinstance(error, (SongFileError, MusicXmlImportError)):
        return str(error)
    if isinstance(error, OSError):
        return f"Cannot read '{path}': {error.strerror or error}"
    return f"Cannot open '{path}': {_sentence(error)} (details in the log: {log_file()})"


def save_error_text(error: BaseException, path: str) -> str:
    """One sentence for a failed save, whatever failed (disk full, bad text, permissions)."""
    if isinstance(error, ProjectError):
        cause = error.__cause__ or error.__context__
        if cause is not None and isinstance(cause, OSError):
            return _capital(write_error_message(cause, path))
        return str(error)
    if isinstance(error, (OSError, UnicodeError)):
        return _capital(write_error_message(error, path))
    if isinstance(error, MidiExportError):
        return f"Cannot export '{path}': {error}"
    return f"Cannot save '{path}': {_sentence(error)} (details in the log: {log_file()})"


def _sentence(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def report_text(report: tuple[str, ...], limit: int = 12) -> str:
    """The import report as lines for a dialog (the first ``limit``, then a count)."""
    lines = list(report[:limit])
    if len(report) > limit:
        lines.append(f"… and {len(report) - limit} more (see the log)")
    return "\n".join(lines)
