"""Small pieces shared by the training and generation panels.

Section headings, the message box that shows errors inside a panel (never a crash, never
a modal dialog in the middle of a run), human-readable durations and note names, and the
composer-friendly description of every engine error.
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QToolButton, QWidget

log = logging.getLogger("studio.ui.panels")

ACCENT = "#4fc3f7"
ERROR_BG = "#3b1f22"
ERROR_FG = "#ffb4ab"
INFO_FG = "#b8bcc4"
NOTE_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(f"font-weight: 600; color: {ACCENT}; padding-top: 4px;")
    return label


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {INFO_FG};")
    return label


def control_column(controls: QWidget) -> QScrollArea:
    """The panels' left column: scrolls vertically when the dock is short, never sideways."""
    scroll = QScrollArea()
    scroll.setWidget(controls)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(360)
    return scroll


def pitch_name(pitch: int) -> str:
    """MIDI pitch as a note name with octave (middle C = C4)."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class MessageBox(QFrame):
    """An inline, dismissable message (errors in red, notes in grey)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panelMessage")
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 4, 6)
        row.addWidget(self._label, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def text(self) -> str:
        return self._label.text()

    @property
    def is_error(self) -> bool:
        return self.property("error") is True

    def show_error(self, title: str, detail: str = "") -> None:
        self._show(title, detail, error=True)

    def show_note(self, title: str, detail: str = "") -> None:
        self._show(title, detail, error=False)

    def _show(self, title: str, detail: str, error: bool) -> None:
        self.setProperty("error", error)
        bg, fg = (ERROR_BG, ERROR_FG) if error else ("#23262b", INFO_FG)
        self.setStyleSheet(
            f"#panelMessage {{ background: {bg}; border-radius: 6px; }}"
            f"#panelMessage QLabel {{ color: {fg}; }}"
        )
        text = f"<b>{_escape(title)}</b>"
        if detail:
            text += f"<br>{_escape(detail)}"
        self._label.setText(text)
        self.show()


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
    )


def describe_error(error: BaseException) -> tuple[str, str]:
    """(what happened, what to do) for an error raised by the engine or a worker."""
    from studio.ml import errors as ml_errors

    message = str(error) or type(error).__name__
    if isinstance(error, ml_errors.NonFiniteLossError):
        return (
            "Training stopped: the losses stopped being numbers (NaN).",
            f"{message}\nLower the learning rates or pick another seed, then resume from "
            "the last checkpoint.",
        )
    if isinstance(error, ml_errors.OutOfMemoryTrainingError):
        return (
            "Training stopped: the device ran out of memory.",
            f"{message}\nLower the batch size or choose a smaller model size.",
        )
    if isinstance(error, ml_errors.DeviceError):
        return ("That device cannot be used.", f"{message}\nChoose another device (CPU works).")
    if isinstance(error, ml_errors.DatasetError):
        return ("The data cannot be used for training.", message)
    if isinstance(error, ml_errors.CheckpointError):
        return ("The model file cannot be used.", message)
    if isinstance(error, ml_errors.MLError):
        return ("The engine stopped.", message)
    if isinstance(error, MemoryError):
        return ("Out of memory.", "Lower the batch size or the number of variations.")
    if isinstance(error, (OSError, ValueError)):
        return ("Something went wrong.", message)
    log.error("unexpected error in a worker", exc_info=error)
    return (
        "Unexpected error — your song is safe.",
        f"{type(error).__name__}: {message}",
    )
