"""Autosave and the restore prompt: the Qt side of `studio.core.recovery`.

`Autosaver` watches one window's document: after an edit (an undo-stack change) it writes
the song to the recovery folder on its next tick (every 30 s; ``PIANOLA_AUTOSAVE_SECONDS``
changes that, for tests and the impatient). Saving the song, closing the window cleanly,
or quitting deletes the copy. `offer_recovery` runs at start: when a copy from a crashed
or killed session is waiting, it asks to restore it (with the file name and the time) or
discard it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from studio.core.atomic import write_error_message
from studio.core.project import ProjectError
from studio.core.recovery import RecoveryEntry, RecoveryStore

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

AUTOSAVE_ENV = "PIANOLA_AUTOSAVE_SECONDS"
DEFAULT_INTERVAL_S = 30.0

log = logging.getLogger(__name__)


def autosave_interval_ms() -> int:
    """The autosave period: ``PIANOLA_AUTOSAVE_SECONDS`` if set and sensible, else 30 s."""
    text = os.environ.get(AUTOSAVE_ENV, "")
    try:
        seconds = float(text) if text else DEFAULT_INTERVAL_S
    except ValueError:
        seconds = DEFAULT_INTERVAL_S
    if not 0.05 <= seconds <= 24 * 3600:  # also refuses nan
        seconds = DEFAULT_INTERVAL_S
    return int(seconds * 1000)


class Autosaver(QObject):
    """Keeps a recovery copy of ``window``'s song while it has unsaved changes."""

    def __init__(
        self,
        window: MainWindow,
        store: RecoveryStore | None = None,
        interval_ms: int | None = None,
        doc_id: str = "main",
    ) -> None:
        super().__init__(window)
        self.window = window
        self.store = store or RecoveryStore()
        self.doc_id = doc_id
        self._dirty = False
        self._warned = False
        self.last_saved: float | None = None
        document = window.document
        document.undo_stack.indexChanged.connect(self._on_edit)
        document.modifiedChanged.connect(self._on_modified_changed)
        document.songReplaced.connect(self._on_song_replaced)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms if interval_ms is not None else autosave_interval_ms())
        self.timer.timeout.connect(self.autosave_now)
        self.timer.start()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.document_closed)

    @property
    def recovery_path(self):
        return self.store.path_for(self.doc_id)

    def _on_edit(self, *_args: object) -> None:
        self._dirty = True

    def _on_modified_changed(self, modified: bool) -> None:
        if not modified:  # saved (or undone back to the saved state): nothing to recover
            self._dirty = False
            self.store.remove(self.doc_id)

    def _on_song_replaced(self) -> None:
        # A new, opened or restored song: restore marks itself dirty after this.
        self._dirty = False
        self.store.remove(self.doc_id)

    def mark_dirty(self) -> None:
        self._dirty = True

    def autosave_now(self) -> bool:
        """Write the copy if the song changed since the last one; True when written."""
        document = self.window.document
        if not self._dirty:
            return False
        if not document.modified:
            self._dirty = False
            self.store.remove(self.doc_id)
            return False
        try:
            self.store.save(
                self.doc_id, self.window.current_project(), document.path, document.song.title
            )
        except Exception as error:  # a failed autosave must never interrupt the composer
            log.warning("autosave failed", exc_info=True)
            if not self._warned:  # say it once, in the status bar, not in a dialog
                self._warned = True
                text = write_error_message(error, self.recovery_path)
                self.window.statusBar().showMessage(f"Autosave failed: {text}", 15000)
            return False
        self._dirty = False
        self._warned = False
        self.last_saved = time.time()
        return True

    def document_closed(self) -> None:
        """The window closed cleanly (saved or discarded): the copy is not needed."""
        self.timer.stop()
        self._dirty = False
        self.store.remove(self.doc_id)


def describe(entry: RecoveryEntry) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.saved_at))
    where = f" ({entry.source})" if entry.source else ""
    return f"“{entry.display_name}”{where}, autosaved at {when}"


def ask_restore(parent: QWidget, entry: RecoveryEntry, more: int) -> str:
    """'restore', 'discard' or 'later' (keep the copy and ask at the next start)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Recover unsaved work")
    box.setText("Pianola was closed unexpectedly. Unsaved work was recovered:")
    extra = f"\n\n{more} more recovered song(s) will be offered next time." if more else ""
    box.setInformativeText(describe(entry) + extra)
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    later = box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(restore)
    box.setEscapeButton(later)
    box.exec()
    clicked = box.clickedButton()
    if clicked is restore:
        return "restore"
    if clicked is discard:
        return "discard"
    return "later"


def offer_recovery(window: MainWindow, autosaver: Autosaver, ask=ask_restore) -> bool:
    """Offer the newest waiting copy; True when a song was restored into ``window``.

    ``ask(parent, entry, more)`` returns "restore", "discard" or "later" (tests pass a
    function instead of the dialog).
    """
    store = autosaver.store
    entries = store.pending()
    while entries:
        entry, entries = entries[0], entries[1:]
        answer = ask(window, entry, len(entries))
        if answer == "later":
            return False
        if answer == "discard":
            store.discard(entry)
            log.info("discarded recovered copy %s", entry.key)
            continue
        try:
            project = store.restore(entry)
        except ProjectError as error:
            log.error("recovered copy %s cannot be read: %s", entry.key, error)
            QMessageBox.critical(
                window,
                "Cannot restore",
                f"The recovered copy of {entry.display_name} is damaged and cannot be opened "
                f"({error.reason}).",
            )
            store.discard(entry)
            continue
        window.show_project(project, entry.source)
        autosaver.mark_dirty()
        window.document.undo_stack.resetClean()  # unsaved: the title shows [*]
        # Keep the work safe before dropping the old copy: write ours first.
        autosaver.autosave_now()
        store.discard(entry)
        log.info("restored %s from %s", entry.display_name, entry.key)
        window.statusBar().showMessage(f"Restored {entry.display_name}: save it to keep it", 10000)
        return True
    return False


def start_recovery(window: MainWindow, ask=ask_restore) -> bool:
    """Give ``window`` an autosaver and offer what a crash left; True when restored."""
    autosaver = Autosaver(window)
    window.autosaver = autosaver
    try:
        return offer_recovery(window, autosaver, ask)
    except OSError:  # an unreadable recovery folder must not stop the app from starting
        log.exception("cannot look for recovered work")
        return False
