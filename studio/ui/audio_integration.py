"""Wire audio into the main window: `attach_audio(window)` is the only call app start-up needs.

It uses the window's public API only: ``window.document``, ``window.editor``
(``ensure_tick_visible``, ``user_is_dragging``), ``window.set_transport_bar``,
``window.menu(name)`` and ``window.statusBar()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from studio.audio.stream import AudioBackend
from studio.audio.wav import export_wav
from studio.ui.audio_dialogs import AudioSettingsDialog, ExportAudioDialog, ExportChoice
from studio.ui.icons import icon
from studio.ui.transport import TransportBar, TransportController, suggest_wav_path
from studio.ui.workers import GeneratorWorker, WorkerHandle


class AudioActions:
    """The QActions audio adds to the window, kept so tests and menus can find them."""

    def __init__(self, window: Any, controller: TransportController, bar: TransportBar) -> None:
        self.window = window
        self.controller = controller
        self.export_handle: WorkerHandle | None = None
        self.progress: QProgressDialog | None = None
        self.last_export: str | None = None

        self.play = QAction(icon("play"), "Play / Pause", window)
        self.play.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.play.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.play.triggered.connect(controller.toggle_play)
        self.stop = QAction(icon("stop"), "Stop", window)
        self.stop.setShortcut(QKeySequence("Ctrl+Space"))
        self.stop.triggered.connect(controller.stop)
        self.loop = bar.loop_action
        self.loop.setShortcut(QKeySequence("Ctrl+L"))  # L alone is the editor's Legato
        self.loop.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.export = QAction("Export Audio…", window)
        self.export.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.export.setStatusTip("Write the song or the loop region to a WAV file")
        self.export.triggered.connect(self.export_dialog)
        self.settings = QAction(icon("speaker"), "Audio Settings…", window)
        self.settings.setStatusTip("Output device, sample rate and SoundFont")
        self.settings.triggered.connect(self.settings_dialog)
        for action in (self.play, self.stop, self.loop):
            window.addAction(action)  # shortcuts work wherever focus is in the window

    # -- export --------------------------------------------------------------------------------
    def export_dialog(self) -> ExportAudioDialog:
        document = self.controller.document
        last_dir = str(QSettings().value("files/last_dir", str(Path.home())))
        dialog = ExportAudioDialog(
            suggest_wav_path(document, last_dir),
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
            QSettings().setValue("files/last_dir", str(Path(choice.path).parent))
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


def attach_audio(
    window: Any, backend: AudioBackend | None = None, threaded: bool = True
) -> TransportController:
    """Give `window` a transport bar, playback, previews, Export Audio and Audio Settings.

    `backend` and `threaded=False` are for tests (a fake sound card, rendering on demand).
    """
    controller = TransportController(window.document, window, backend=backend, threaded=threaded)
    editor = window.editor

    def follow(tick: int) -> None:
        # Never scroll away from under a composer who is dragging a note or the view.
        if not editor.user_is_dragging:
            editor.ensure_tick_visible(tick)

    controller.follow = follow
    bar = TransportBar(controller, window)
    window.set_transport_bar(bar)
    actions = AudioActions(window, controller, bar)
    bar.settings_button = bar.addAction(actions.settings)

    file_menu = window.menu("file")
    anchor = _action_after(file_menu, "file.export_midi")
    if anchor is not None:
        file_menu.insertAction(anchor, actions.export)
    else:
        file_menu.addAction(actions.export)
    transport_menu = window.menuBar().addMenu("&Transport")
    tools = window.menu("tools")
    window.menuBar().insertMenu(tools.menuAction(), transport_menu)
    for action in (actions.play, actions.stop, actions.loop):
        transport_menu.addAction(action)
    tools.addSeparator()
    tools.addAction(actions.settings)

    controller.actions = actions  # type: ignore[attr-defined]
    controller.bar = bar  # type: ignore[attr-defined]
    app = QApplication.instance()
    if app is not None:
        # Stop the stream and the render thread before Python tears the modules down.
        app.aboutToQuit.connect(controller.shutdown)
    return controller


def _action_after(menu: Any, object_name: str) -> QAction | None:
    """The action that follows the one named `object_name` (to insert after it)."""
    actions = menu.actions()
    for k, action in enumerate(actions):
        if action.objectName() == object_name:
            return actions[k + 1] if k + 1 < len(actions) else None
    return None
