"""The Training and Generation panels, and the one call that puts them in the main window.

``attach_panels(window, transport)`` adds both panels as docks (tabbed together at the
bottom), wires previews and results to the audio transport and the editor, hands each
finished training run to the Generation panel, and makes closing the window during
training ask first, then stop cleanly (checkpoint saved, thread joined).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox, QWidget

from studio.core.song import Song
from studio.ui.panels.generation_panel import GenerationPanel
from studio.ui.panels.training_panel import TrainingPanel

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow
    from studio.ui.transport import TransportController

__all__ = ["Panels", "ask_stop_training", "attach_panels"]


@dataclass
class Panels:
    training: TrainingPanel
    generation: GenerationPanel
    training_dock: QDockWidget
    generation_dock: QDockWidget
    close_guard: QObject


def ask_stop_training(parent: QWidget) -> bool:
    """Ask whether to stop training so the window can close (tests replace this)."""
    answer = QMessageBox.question(
        parent,
        "Training is running",
        "A model is still training. Stop it now? A checkpoint is saved first, so you can "
        "resume or generate from it later.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


class _CloseGuard(QObject):
    """Sees the window's close first: asks, stops training cleanly, or cancels the close."""

    def __init__(self, window: QWidget, training: TrainingPanel, generation: GenerationPanel):
        super().__init__(window)
        self._window = window
        self._training = training
        self._generation = generation

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self._window or event.type() != QEvent.Type.Close:
            return False
        if self._training.is_training:
            if not ask_stop_training(self._window):
                event.ignore()
                return True  # the window stays open, training goes on
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self._training.stop_and_wait()
            finally:
                QApplication.restoreOverrideCursor()
        self._training.data_box.shutdown()
        self._generation.shutdown()
        return False  # let the window's own closeEvent (unsaved changes, ...) run


def _player(transport: Any) -> Callable[[Song], None] | None:
    """The transport's way to audition a song that is not the open one, if it has one."""
    if transport is None:
        return None
    if callable(transport) and not isinstance(transport, QObject):
        return transport
    for name in ("play_song", "audition"):
        method = getattr(transport, name, None)
        if callable(method):
            return method
    return None


def _opener(window: MainWindow) -> Callable[[Song], None]:
    def open_song(song: Song) -> None:
        if not window.maybe_save():
            return
        # A variation or preview exists nowhere else: it is unsaved work, so opening the
        # next one asks first (it was marked saved, and silently replaced).
        window.document.set_song(song, None, unsaved=True)
        window.editor.zoom_to_fit()

    return open_song


def attach_panels(
    window: MainWindow,
    transport: TransportController | Callable[[Song], object] | None = None,
) -> Panels:
    """Add the Training and Generation docks to ``window`` (a MainWindow).

    ``transport``: the audio TransportController (its ``play_song(song)`` auditions
    previews and variations) or any ``play_song(song)`` callable; None: silent.
    """
    play = _player(transport)
    open_song = _opener(window)
    training = TrainingPanel(play_song=play, open_song=open_song)
    generation = GenerationPanel(window.document, play_song=play, open_song=open_song)
    area = Qt.DockWidgetArea.BottomDockWidgetArea
    training_dock = window.add_panel(training, "Training", area)
    generation_dock = window.add_panel(generation, "Generation", area)
    window.tabifyDockWidget(training_dock, generation_dock)
    generation_dock.raise_()

    def on_finished(event: Any) -> None:
        checkpoint = getattr(event, "checkpoint", None) or training.last_checkpoint
        if checkpoint:
            generation.set_model_source(checkpoint)

    training.trainingFinished.connect(on_finished)
    guard = _CloseGuard(window, training, generation)
    window.installEventFilter(guard)
    return Panels(training, generation, training_dock, generation_dock, guard)
