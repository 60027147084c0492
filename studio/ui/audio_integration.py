"""Audio in the main window: the transport's commands, Export Audio and Audio Settings.

`build_audio(window)` makes the transport controller, declares the transport commands in
the window's registry and returns the typed parts the window keeps. It uses the window's
public API only: ``window.document``, ``window.editor`` (``ensure_tick_visible``,
``user_is_dragging``), ``window.commands`` and ``window.statusBar()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from studio.audio.stream import AudioBackend
from studio.audio.wav import export_wav
from studio.ui.audio_dialogs import AudioSettingsDialog, ExportAudioDialog, ExportChoice
from studio.ui.commands import Command
from studio.ui.document import SongDocument
from studio.ui.recent import remember_folder
from studio.ui.transport import (
    TransportActions,
    TransportBar,
    TransportController,
    suggest_wav_path,
)
from studio.ui.workers import GeneratorWorker, WorkerHandle

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow


class AudioCommands:
    """What the transport's commands act on: the controller, export and settings dialogs."""

    def __init__(self, window: MainWindow, controller: TransportController) -> None:
        self.window = window
        self.controller = controller
        self.export_handle: WorkerHandle | None = None
        self.progress: QProgressDialog | None = None
        self.last_export: str | None = None

    @property
    def document(self) -> SongDocument:
        return self.controller.document

    def toggle_loop(self) -> None:
        self.controller.set_loop_enabled(not self.controller.loop_enabled)

    # -- export --------------------------------------------------------------------------------
    def export_dialog(self) -> ExportAudioDialog:
        document = self.controller.document
        dialog = ExportAudioDialog(
            suggest_wav_path(document),
            document.loop is not None,
            self.controller.settings.sample_rate,
            self.window,
        )
        dialog.accepted.connect(lambda: self.start_export(dialog.choice()))
        dialog.open()
        return dialog

    def start_export(self, choice: ExportChoice) -> WorkerHandle:
        """Render in a worker thread with a cancellable progress dialog."""
        document = self.controller.document
        song = document.song.copy()
        start = end = None
        if choice.loop_only and document.loop is not None:
            start, end = document.loop
        worker = GeneratorWorker(
            export_wav,
            song,
            choice.path,
            choice.sample_rate,
            start,
            end,
            dict(self.controller.mix),
            choice.float32,
            synth=self.controller.export_synth(choice.sample_rate),
            report_arg="progress",
            coalesce=lambda _v: True,
        )
        handle = WorkerHandle(worker, "pianola-export-audio")
        progress = QProgressDialog(
            f"Rendering {Path(choice.path).name}…", "Cancel", 0, 1000, self.window
        )
        progress.setWindowTitle("Export Audio")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        progress.canceled.connect(handle.abort)

        def on_progress(values: list) -> None:
            done, total = values[-1]
            progress.setValue(int(1000 * done / total) if total else 1000)

        def on_done(_frames: object) -> None:
            progress.reset()
            self.last_export = choice.path
            remember_folder(choice.path)
            self.window.statusBar().showMessage(f"Exported {Path(choice.path).name}", 5000)

        def on_error(error: object) -> None:
            progress.reset()
            QMessageBox.critical(self.window, "Cannot export audio", str(error))

        handle.yieldedBatch.connect(on_progress)
        handle.returned.connect(on_done)
        handle.errored.connect(on_error)
        handle.aborted.connect(progress.reset)
        handle.finished.connect(lambda: setattr(self, "export_handle", None))
        self.export_handle = handle
        self.progress = progress
        handle.start()
        return handle

    # -- settings ---------------------------------------------------------------------------------
    def settings_dialog(self) -> AudioSettingsDialog:
        dialog = AudioSettingsDialog(self.controller, self.window)
        dialog.open()
        return dialog


TRANSPORT_COMMANDS: tuple[Command[AudioCommands], ...] = (
    Command("transport.play", "Play / Pause", "transport",
            lambda d, a: a.controller.toggle_play(), ("Space",),
            "Play from the playhead / pause", section="play", icon="play"),
    Command("transport.stop", "Stop", "transport", lambda d, a: a.controller.stop(),
            ("Ctrl+Space",), "Stop: back to where playback started; again: back to the start",
            section="play", icon="stop"),
    Command("transport.loop", "Loop", "transport", lambda d, a: a.toggle_loop(), ("Ctrl+L",),
            "Loop the loop region (drag in the ruler to set it)", section="loop",
            checkable=True, icon="loop", checked=lambda a: a.controller.loop_enabled),
    Command("file.export_audio", "Export Audio…", "file", lambda d, a: a.export_dialog(),
            ("Ctrl+Shift+E",), "Write the song or the loop region to a WAV file",
            section="export"),
    Command("tools.audio_settings", "Audio Settings…", "tools",
            lambda d, a: a.settings_dialog(), (), "Output device, sample rate and SoundFont",
            section="settings", icon="speaker"),
)  # fmt: skip


@dataclass(frozen=True)
class Audio:
    """The audio parts a window owns."""

    controller: TransportController
    bar: TransportBar
    commands: AudioCommands


def build_audio(
    window: MainWindow, backend: AudioBackend | None = None, threaded: bool = True
) -> Audio:
    """Transport controller, its commands in ``window.commands`` and the transport bar.

    `backend` and `threaded=False` are for tests (a fake sound card, rendering on demand).
    """
    controller = TransportController(window.document, window, backend=backend, threaded=threaded)
    editor = window.editor

    def follow(tick: int) -> None:
        # Never scroll away from under a composer who is dragging a note or the view.
        if not editor.user_is_dragging:
            editor.ensure_tick_visible(tick)

    controller.follow = follow
    audio = AudioCommands(window, controller)
    registry = window.commands
    registry.add(*TRANSPORT_COMMANDS, context=audio)
    actions = TransportActions(
        registry.action("transport.play"),
        registry.action("transport.stop"),
        registry.action("transport.loop"),
        registry.action("tools.audio_settings"),
    )
    bar = TransportBar(controller, actions, window)
    # Pressing Play (or auditioning) without a device says so where the composer looks.
    controller.playRefused.connect(lambda text: window.statusBar().showMessage(text, 8000))
    app = QApplication.instance()
    if app is not None:
        # Stop the stream and the render thread before Python tears the modules down.
        app.aboutToQuit.connect(controller.shutdown)
    return Audio(controller, bar, audio)
