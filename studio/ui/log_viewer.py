"""Help ▸ Show Log: the end of Pianola's log file, and a button that opens its folder.

The frozen app has no console, so this is where a composer (or whoever helps them) reads
what went wrong: warnings, worker errors and tracebacks (see `studio.logs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.logs import (
    install_excepthook,
    install_qt_message_handler,
    log_file,
    one_sentence,
    setup_logging,
)
from studio.ui.commands import Command, CommandRegistry

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

TAIL_BYTES = 256 * 1024


def read_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of ``path`` as text (from a line start), or a note."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read()
    except FileNotFoundError:
        return "(nothing logged yet)"
    except OSError as error:
        return f"(the log cannot be read: {error.strerror or error})"
    if size > limit:
        data = data.split(b"\n", 1)[-1]
    return data.decode("utf-8", errors="replace")


class LogDialog(QDialog):
    """The log's last lines, newest at the bottom, with Open Folder and Reload."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle("Pianola Log")
        self.resize(900, 560)
        where = QLabel(f"Log file: {path}", self)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("LogText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.open_folder = QPushButton("Open Folder", self)
        self.open_folder.setToolTip("Show the log files in your file manager")
        self.reload = QPushButton("Reload", self)
        buttons.addButton(self.open_folder, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.reload, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.open_folder.clicked.connect(self.show_folder)
        self.reload.clicked.connect(self.load)
        layout = QVBoxLayout(self)
        layout.addWidget(where)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.load()

    def load(self) -> None:
        self.text.setPlainText(read_tail(self.path))
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def show_folder(self) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path.parent)))


_reporting = False


def report_error(error: BaseException, parent: QWidget | None = None) -> None:
    """Tell the composer, in one sentence, that something failed; details are in the log."""
    global _reporting
    if _reporting:  # one dialog at a time: an error inside the dialog must not cascade
        return
    _reporting = True
    try:
        QMessageBox.critical(
            parent,
            "Something went wrong",
            f"{one_sentence(error)}\n\nYour song is still open. The details are in the log "
            f"(Help ▸ Show Log): {log_file()}",
        )
    finally:
        _reporting = False


def install_gui_logging() -> Path:
    """The app's logging: the rotating log file, Qt's messages, and uncaught exceptions
    logged with their tracebacks and reported in a one-sentence dialog."""
    path = setup_logging()
    install_qt_message_handler()
    install_excepthook(on_error=report_error)
    return path


def show_log(window: QWidget) -> LogDialog:
    dialog = LogDialog(log_file(), window)
    dialog.open()
    return dialog


def register(registry: CommandRegistry, window: MainWindow) -> None:
    """Help ▸ Show Log."""
    registry.add(
        Command(
            "help.show_log",
            "Show Log",
            "help",
            lambda doc, w: show_log(w),
            tip="Warnings and error details Pianola wrote to its log file",
            section="log",
        ),
        context=window,
    )
