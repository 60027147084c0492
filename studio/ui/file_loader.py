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

import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QProgressDialog, QWidget

from studio.core.atomic import write_error_message
from studio.core.midi_io import MidiExportError, MidiImportError, load_midi
from studio.core.project import Project, ProjectError, load_project
from studio.logs import log_file
from studio.ui.workers import start_generator

PROJECT_SUFFIX = ".pianola"
SHOW_PROGRESS_AFTER_MS = 250
_SCALE = 1000

log = logging.getLogger(__name__)

Progress = Callable[..., None]


def _accepts_progress(func: Callable[..., Any]) -> bool:
    try:
        return "progress" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def read_song_file(path: str, progress: Progress | None = None) -> Project:
    """A .pianola project, or a MIDI file as a project without view state.

    ``progress(done, total)`` is passed on to readers that report progress (and that
    stop when it raises); the worker's ``report`` raises once Cancel was pressed.
    """
    if path.lower().endswith(PROJECT_SUFFIX):
        reader: Callable[..., Any] = load_project
    else:
        reader = load_midi
    if progress is not None and _accepts_progress(reader):
        loaded = reader(path, progress=progress)
    else:
        loaded = reader(path)
    return loaded if isinstance(loaded, Project) else Project(loaded)


@dataclass
class LoadResult:
    project: Project | None = None
    error: BaseException | None = None
    cancelled: bool = False


_busy = False


def open_song_file(
    parent: QWidget | None,
    path: str | os.PathLike[str],
    loader: Callable[..., Project] = read_song_file,
    show_after_ms: int = SHOW_PROGRESS_AFTER_MS,
) -> LoadResult:
    """Read ``path`` with ``loader(path, progress=…)`` in a worker; the GUI keeps running.

    Returns when the file is read, has failed, or Cancel was pressed (the worker is
    then asked to stop and its result is dropped).
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

    def on_progress(value: object) -> None:
        fraction = _fraction(value)
        if fraction is None:
            return
        if dialog.maximum() == 0:
            dialog.setRange(0, _SCALE)
        dialog.setValue(int(fraction * _SCALE))

    def on_returned(value: object) -> None:
        if not result.cancelled:
            result.project = value  # type: ignore[assignment]

    def on_errored(error: object) -> None:
        if not result.cancelled:
            result.error = error if isinstance(error, BaseException) else RuntimeError(error)

    def on_finished() -> None:
        done["finished"] = True
        loop.quit()

    def on_cancel() -> None:
        result.cancelled = True
        handle.abort()
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
        expected = isinstance(error, (MidiImportError, ProjectError, OSError))
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


def open_error_text(error: BaseException, path: str) -> str:
    """One sentence for a file that cannot be opened."""
    if isinstance(error, (MidiImportError, ProjectError)):
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
