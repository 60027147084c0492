"""Recent files and folders: File ▸ Open Recent, and where file dialogs start.

Both live in QSettings (group "files"), so tests that redirect QSettings never see the
composer's real list. Dialogs start in the last folder used, never inside the bundled
resources: Export MIDI once proposed overwriting the bundled chorale the song came from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from studio.paths import models_dir, resource_path

RECENT_KEY = "files/recent"
LAST_DIR_KEY = "files/last_dir"
MAX_RECENT = 10


# -- folders ------------------------------------------------------------------------------
def is_bundled(path: str | os.PathLike[str]) -> bool:
    """True for a file or folder shipped with Pianola (the dataset, the models): read-only."""
    target = Path(path).expanduser().resolve()
    for root in (resource_path(), models_dir()):
        if target == root.resolve() or target.is_relative_to(root.resolve()):
            return True
    return False


def default_folder() -> str:
    """The composer's music folder if there is one, else their home folder."""
    home = Path.home()
    music = home / "Music"
    return str(music if music.is_dir() else home)


def last_folder() -> str:
    """Where the next file dialog starts: the last folder used, if it is still usable."""
    folder = str(QSettings().value(LAST_DIR_KEY, "", type=str) or "")
    if folder and Path(folder).is_dir() and not is_bundled(folder):
        return folder
    return default_folder()


def remember_folder(path: str | os.PathLike[str]) -> None:
    """Remember the folder of a file the composer opened or wrote (not a bundled one)."""
    folder = Path(path).expanduser().parent
    if not is_bundled(folder):
        QSettings().setValue(LAST_DIR_KEY, str(folder))


def suggest_path(document_path: str | None, title: str, suffix: str) -> str:
    """A name for Save As / Export: beside the open file unless that is bundled."""
    if document_path and not is_bundled(document_path):
        return str(Path(document_path).with_suffix(suffix))
    stem = Path(document_path).stem if document_path else (title or "Untitled")
    return str(Path(last_folder()) / f"{stem}{suffix}")


def confirm_overwrite(parent: QWidget | None, path: str) -> bool:
    """Ask before replacing an existing file. True when it is fine to write `path`."""
    if not Path(path).exists():
        return True
    answer = QMessageBox.question(
        parent,
        "Replace file?",
        f"{Path(path).name} already exists in {Path(path).parent}. Replace it?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_save_path(
    parent: QWidget | None,
    title: str,
    suggestion: str,
    file_filter: str,
    suffix: str,
    accepted_suffixes: tuple[str, ...] = (),
) -> str | None:
    """A save dialog that adds a missing suffix, refuses bundled files and asks before
    replacing one (also when the suffix was added after the dialog closed)."""
    path, _ = QFileDialog.getSaveFileName(
        parent, title, suggestion, file_filter, "", QFileDialog.Option.DontConfirmOverwrite
    )
    if not path:
        return None
    if not path.lower().endswith(accepted_suffixes or (suffix,)):
        path += suffix
    if is_bundled(path):
        QMessageBox.critical(
            parent,
            title,
            f"{Path(path).name} is part of Pianola's bundled files, which are read-only. "
            "Choose another folder.",
        )
        return None
    if not confirm_overwrite(parent, path):
        return None
    return path


# -- recent files -------------------------------------------------------------------------
class RecentFiles(QObject):
    """The last songs and projects opened or saved, newest first (File ▸ Open Recent)."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None, limit: int = MAX_RECENT) -> None:
        super().__init__(parent)
        self.limit = limit

    def paths(self) -> list[str]:
        value = QSettings().value(RECENT_KEY, [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [str(p) for p in (value or []) if p]

    def add(self, path: str | os.PathLike[str]) -> None:
        if is_bundled(path):  # the bundled chorales are one Browse away; keep the list personal
            return
        text = str(Path(path).expanduser().resolve())
        self._store([text, *(p for p in self.paths() if p != text)][: self.limit])

    def remove(self, path: str) -> None:
        self._store([p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._store([])

    def _store(self, paths: list[str]) -> None:
        QSettings().setValue(RECENT_KEY, paths)
        self.changed.emit()


class RecentMenu(QMenu):
    """File ▸ Open Recent: numbered entries, then the registry's Clear command."""

    def __init__(
        self,
        recent: RecentFiles,
        open_path: Callable[[str], object],
        clear_action: QAction,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Open &Recent", parent)
        self.setObjectName("menu-recent")
        self.recent = recent
        self.open_path = open_path
        self.clear_action = clear_action
        self.aboutToShow.connect(self.rebuild)
        recent.changed.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        paths = self.recent.paths()
        for number, path in enumerate(paths, start=1):
            name = Path(path).name.replace("&", "&&")
            prefix = f"&{number} " if number < 10 else ""
            action = self.addAction(f"{prefix}{name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.setData(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if not paths:
            empty = self.addAction("No recent files")
            empty.setEnabled(False)
        self.addSeparator()
        self.addAction(self.clear_action)
        self.clear_action.setEnabled(bool(paths))
        self.menuAction().setEnabled(True)

    def entries(self) -> list[QAction]:
        return [a for a in self.actions() if isinstance(a.data(), str) and a.data()]
