"""The main window: its parts (editor, transport, panels), its commands and its files.

`MainWindow(parts=WindowParts.workstation())` is the one assembly: the window makes the
editor, then the audio transport and the panels it was asked for, and declares every
command of all of them in one `CommandRegistry` (menus, keys, Help ▸ Keyboard Shortcuts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.midi_io import save_midi
from studio.core.musicxml import MUSICXML_SUFFIXES
from studio.core.project import Project, save_project
from studio.core.quantize import SNAP_DIVISIONS
from studio.core.scales import SCALES
from studio.core.song import Song
from studio.ui import log_viewer, musicxml_commands
from studio.ui.about import AboutDialog
from studio.ui.commands import Command, CommandRegistry
from studio.ui.document import SongDocument, default_song
from studio.ui.editor import PianoRollEditor
from studio.ui.file_loader import open_error_text, open_song_file, report_text, save_error_text
from studio.ui.icons import icon
from studio.ui.layout import LAYOUT_VERSION
from studio.ui.recent import (
    RecentFiles,
    RecentMenu,
    ask_save_path,
    last_folder,
    remember_folder,
    suggest_path,
)

if TYPE_CHECKING:
    from studio.audio.stream import AudioBackend
    from studio.ui.audio_integration import AudioCommands
    from studio.ui.panels import Panels
    from studio.ui.recording import Recorder
    from studio.ui.recovery import Autosaver
    from studio.ui.transport import TransportBar, TransportController

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
PROJECT_SUFFIX = ".pianola"
MIDI_FILTER = "MIDI files (*.mid *.midi *.kar)"
PROJECT_FILTER = "Pianola projects (*.pianola)"
DROPPABLE_SUFFIXES = (*MIDI_SUFFIXES, PROJECT_SUFFIX, *MUSICXML_SUFFIXES)


@dataclass(frozen=True)
class WindowParts:
    """What a MainWindow is built with. The app takes everything; tests pick parts."""

    audio: bool = False
    audio_backend: AudioBackend | None = None  # None: the system's sound devices
    midi_backend: Any = None  # None: mido + python-rtmidi; tests inject a keyboard
    threaded_audio: bool = True  # False: render on demand (tests)
    panels: bool = False

    @classmethod
    def workstation(cls, **overrides: Any) -> WindowParts:
        """The whole app: editor, audio transport, Training and Generation panels."""
        return cls(**{"audio": True, "panels": True, **overrides})


def _file(command_id: str, title: str, run: Any, keys: tuple = (), section: str = "",
          tip: str = "") -> Command[MainWindow]:  # fmt: skip
    return Command(command_id, title, "file", lambda d, w: run(w), keys, tip, section)


Key = QKeySequence.StandardKey
WINDOW_COMMANDS: tuple[Command[MainWindow], ...] = (
    _file("file.new", "New", lambda w: w.new_song(), (Key.New,), "new"),
    _file("file.open_midi", "Open MIDI…", lambda w: w.open_midi_dialog(), (Key.Open,), "open"),
    _file("file.open_project", "Open Project…", lambda w: w.open_project_dialog(),
          ("Ctrl+Shift+O",), "open"),
    Command("file.clear_recent", "Clear Recent Files", "file/recent",
            lambda d, w: w.recent.clear(), tip="Empty the File ▸ Open Recent list",
            section="recent", enabled=lambda w: bool(w.recent.paths())),
    _file("file.save", "Save", lambda w: w.save(), (Key.Save,), "save"),
    _file("file.save_as", "Save As…", lambda w: w.save_as(), ("Ctrl+Shift+S",), "save"),
    _file("file.export_midi", "Export MIDI…", lambda w: w.export_midi(), ("Ctrl+E",), "export"),
    _file("file.quit", "Quit", lambda w: w.close(), ("Ctrl+Q",), "quit"),
    Command("help.shortcuts", "Keyboard Shortcuts", "help", lambda d, w: w.show_shortcuts(),
            ("F1",), section="help"),
    Command("help.about", "About Pianola", "help", lambda d, w: w.show_about(),
            tip="Version, libraries and their licences, where the bundled data comes from",
            section="about"),
)  # fmt: skip


class ShortcutsDialog(QDialog):
    """Help ▸ Keyboard Shortcuts: one row per registered command, nothing else."""

    def __init__(self, commands: list[Command[Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        entries = [(c.title, c.shortcut_text(), c.menu_title(), c.tip or c.title) for c in commands]
        self.resize(660, 640)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Type to filter commands or keys…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.table = QTableWidget(len(entries), 3, self)
        self.table.setHorizontalHeaderLabels(["Command", "Shortcut", "Menu"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for row, (*cells, tip) in enumerate(entries):
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row in range(self.table.rowCount()):
            cells = " ".join(self.table.item(row, c).text() for c in range(3)).lower()
            self.table.setRowHidden(row, bool(needle) and needle not in cells)

    def rows(self) -> list[tuple[str, str]]:
        return [
            (self.table.item(r, 0).text(), self.table.item(r, 1).text())
            for r in range(self.table.rowCount())
        ]


class MainWindow(QMainWindow):
    """Pianola's window: the editor in the middle, the transport above it, panels docked.

    ``parts`` says which parts to build (see `WindowParts`); a plain ``MainWindow()`` is
    the editor alone, as the editor and file tests want it.
    """

    def __init__(self, parent: QWidget | None = None, parts: WindowParts | None = None) -> None:
        super().__init__(parent)
        parts = parts or WindowParts()
        self.setObjectName("PianolaMainWindow")
        self.setWindowIcon(icon("pianola"))
        self.document = SongDocument(default_song(), self)
        self.generation_settings: dict[str, Any] = {}
        self.recent = RecentFiles(self)
        self.commands = CommandRegistry(self, self.menuBar())
        self.editor = PianoRollEditor(self.document, self, self.commands)
        self.transport: TransportController | None = None
        self.transport_bar: TransportBar | None = None
        self.audio: AudioCommands | None = None
        self.recorder: Recorder | None = None  # MIDI keyboard recording (with audio)
        self.panels: Panels | None = None
        self.autosaver: Autosaver | None = None  # the app's crash-recovery copy (app.py)

        central = QWidget(self)
        self._central_layout = QVBoxLayout(central)
        self._central_layout.setContentsMargins(0, 0, 0, 0)
        self._central_layout.setSpacing(0)
        self._transport_widget: QWidget | None = None
        self._central_layout.addWidget(self.editor, 1)
        self.setCentralWidget(central)
        self.setAcceptDrops(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
        )
        # Song facts sit in the status bar's normal area; temporary messages (exported,
        # no audio device) cover them for a few seconds and then they come back.
        self.song_status = QLabel(self)
        self.song_status.setObjectName("SongStatus")
        self.statusBar().addWidget(self.song_status, 1)

        self._assemble(parts)
        self.document.modifiedChanged.connect(self._update_title)
        self.document.pathChanged.connect(self._update_title)
        for signal in (
            self.document.selectionChanged,
            self.document.changed,
            self.document.activeTrackChanged,
        ):
            signal.connect(self._update_status)
        self._update_title()
        self._update_status()
        self.resize(1400, 860)
        self._restore_settings()

    # -- assembly ---------------------------------------------------------------------------
    def _assemble(self, parts: WindowParts) -> None:
        """Build the parts and declare their commands: the one place the window is wired.

        Each feature declares its commands in ``self.commands`` (its ``register`` or
        ``build_*`` call below); the registry makes the menus, keys and shortcut list.
        """
        self.commands.add(*WINDOW_COMMANDS, context=self)
        self.recent_menu = RecentMenu(
            self.recent, self.open_recent, self.commands.action("file.clear_recent"), self
        )
        self.commands.add_submenu("file", "recent", self.recent_menu)
        log_viewer.register(self.commands, self)  # Help ▸ Show Log
        musicxml_commands.register(self.commands, self)  # File ▸ Import/Export MusicXML
        # Sound, MIDI input and the engine's panels load their libraries only when asked for.
        if parts.audio:
            from studio.ui.audio_integration import build_audio
            from studio.ui.recording import build_recording

            audio = build_audio(self, parts.audio_backend, parts.threaded_audio)
            self.transport = audio.controller
            self.transport_bar = audio.bar
            self.audio = audio.commands
            self.set_transport_bar(audio.bar)
            self.recorder = build_recording(self, audio.controller, audio.bar, parts.midi_backend)
        if parts.panels:
            from studio.ui.panels import attach_panels

            self.panels = attach_panels(self, self.transport)

    # -- public API for other panels --------------------------------------------------------
    def menu(self, name: str) -> QMenu:
        """The QMenu "file", "edit", "view", "transport", "tools" or "help" (read-only use:
        declare commands in ``self.commands``)."""
        return self.commands.menu(name)

    def add_panel(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        """Add a dock panel; View gets a command that shows and hides it."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        # Docks usually arrive after restoreState(): put this one back where (and whether)
        # the composer left it; only a dock the saved state does not know goes to `area`.
        if not self.restoreDockWidget(dock):
            self.addDockWidget(area, dock)
        command_id = "view.panel." + "_".join(title.lower().split())
        toggle = dock.toggleViewAction()
        self.commands.add(
            Command(
                command_id,
                f"{title} Panel",
                "view",
                lambda d, w, toggle=toggle: toggle.trigger(),
                tip=f"Show or hide the {title} panel",
                section="panels",
                checkable=True,
                checked=lambda w, toggle=toggle: toggle.isChecked(),
            ),
            context=self,
        )
        # Qt keeps the dock's own toggle in step with its close button; follow it.
        toggle.toggled.connect(self.commands.action(command_id).setChecked)
        return dock

    def set_transport_bar(self, widget: QWidget) -> None:
        """Put the transport controls at the top of the window (replacing any previous)."""
        if self._transport_widget is not None:
            self._central_layout.removeWidget(self._transport_widget)
            self._transport_widget.setParent(None)
        self._transport_widget = widget
        self._central_layout.insertWidget(0, widget)
        widget.show()

    @property
    def actions_by_id(self) -> dict[str, QAction]:
        """Every command's QAction by id (to trigger one as a user would)."""
        return self.commands.actions_by_id()

    # -- help -------------------------------------------------------------------------------
    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.commands.commands(), self)
        dialog.open()
        return dialog

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self)
        dialog.open()
        return dialog

    # -- title and status -------------------------------------------------------------------
    def _display_name(self) -> str:
        if self.document.path:
            return Path(self.document.path).name
        return self.document.song.title or "Untitled"

    def _update_title(self, *_args: object) -> None:
        self.setWindowTitle(f"{self._display_name()}[*] — Pianola")
        self.setWindowModified(self.document.modified)

    def _update_status(self, *_args: object) -> None:
        doc = self.document
        track = doc.active()
        if track is None:
            self.song_status.setText("No tracks: add one with + in the track list")
            return
        selected = len(doc.selection)
        total = len(track.notes)
        text = f"{track.name}: {total} notes"
        if selected:
            text += f", {selected} selected"
        self.song_status.setText(text)

    # -- files ------------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask about unsaved changes. True when it is fine to discard the current song."""
        if not self.document.modified:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {self._display_name()} before closing it?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_song(self) -> None:
        if self.maybe_save():
            self.document.set_song(default_song(), None)
            self.editor.view.center_on_pitch(66)

    def open_midi_dialog(self) -> None:
        self._open_dialog("Open MIDI", MIDI_FILTER)

    def open_project_dialog(self) -> None:
        self._open_dialog("Open Project", PROJECT_FILTER)

    def _open_dialog(self, title: str, file_filter: str) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, title, last_folder(), file_filter)
        if path:
            self.open_path(path, ask=False)

    def open_recent(self, path: str) -> bool:
        """File ▸ Open Recent: a file that has gone since is taken off the list."""
        if not Path(path).exists():
            self.recent.remove(path)
            QMessageBox.critical(
                self, "Cannot open file", f"{Path(path).name} is no longer in {Path(path).parent}."
            )
            return False
        return self.open_path(path)

    def open_path(self, path: str | os.PathLike[str], ask: bool = True) -> bool:
        """Open a .mid/.midi or .pianola file. On failure, explain and keep the current song."""
        path = str(path)
        if ask and not self.maybe_save():
            return False
        # Read in a worker (progress dialog with Cancel); the window keeps painting.
        loaded = open_song_file(self, path)
        if loaded.cancelled:
            self.statusBar().showMessage(f"Opening {Path(path).name} was cancelled", 5000)
            return False
        if loaded.error is not None or loaded.project is None:
            error = loaded.error or RuntimeError("nothing was read")
            QMessageBox.critical(self, "Cannot open file", open_error_text(error, path))
            return False
        remember_folder(path)
        self.recent.add(path)
        self.show_project(loaded.project, path)
        if loaded.report:  # what the reader skipped or repaired, so nothing goes unnoticed
            QMessageBox.information(
                self,
                "Opened with changes",
                f"{Path(path).name} was opened, but not everything in it could be kept:\n\n"
                + report_text(loaded.report),
            )
        return True

    def show_project(self, project: Project, path: str | None) -> None:
        """Make ``project`` the open song (an opened file, a restored recovery copy)."""
        self.generation_settings = dict(project.generation_settings)
        active = next((i for i, s in enumerate(project.track_view_state) if s.get("active")), 0)
        self.document.set_song(project.song, path)  # the editor zooms to fit
        self.document.set_active_track(active)

    def current_project(self) -> Project:
        """The open song with its view state and generation settings, as saved."""
        doc = self.document
        return Project(
            doc.song,
            [{"active": k == doc.active_track} for k in range(len(doc.song.tracks))],
            dict(self.generation_settings),
        )

    def save(self) -> bool:
        """Save the project; a song opened from MIDI (or new) asks for a project name."""
        path = self.document.path
        if path and path.lower().endswith(PROJECT_SUFFIX):
            return self.save_to(path)
        return self.save_as()

    def save_as(self) -> bool:
        path = ask_save_path(
            self, "Save Project", self._suggest(PROJECT_SUFFIX), PROJECT_FILTER, PROJECT_SUFFIX
        )
        return self.save_to(path) if path else False

    def save_to(self, path: str) -> bool:
        doc = self.document
        try:
            save_project(self.current_project(), path)
        except Exception as error:  # every failure (disk full, unencodable text) gets a dialog
            QMessageBox.critical(self, "Cannot save project", save_error_text(error, path))
            return False
        remember_folder(path)
        self.recent.add(path)
        doc.mark_saved(path)
        return True

    def export_midi(self) -> bool:
        path = ask_save_path(
            self, "Export MIDI", self._suggest(".mid"), MIDI_FILTER, ".mid", MIDI_SUFFIXES
        )
        if not path:
            return False
        try:
            save_midi(self.document.song, path)
        except Exception as error:  # every failure reaches the composer as a dialog
            QMessageBox.critical(self, "Cannot export MIDI", save_error_text(error, path))
            return False
        remember_folder(path)
        self.statusBar().showMessage(f"Exported {Path(path).name}", 5000)
        return True

    def _suggest(self, suffix: str) -> str:
        return suggest_path(self.document.path, self.document.song.title, suffix)

    def set_song(self, song: Song, path: str | None = None) -> None:
        """Show a song (e.g. a generated one) without asking; used by other panels."""
        self.document.set_song(song, path)

    # -- drag and drop ----------------------------------------------------------------------
    @staticmethod
    def _dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            local = url.toLocalFile()
            if local and local.lower().endswith(DROPPABLE_SUFFIXES):
                return local
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_file(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_file(event)
        if path:
            event.acceptProposedAction()
            self.open_path(path)

    # -- settings and closing --------------------------------------------------------------
    def _restore_settings(self) -> None:
        settings = QSettings()
        settings.beginGroup("MainWindow")
        geometry = settings.value("geometry")
        window_state = settings.value("state")
        ghosts = settings.value("ghost_notes", True, type=bool)
        snap = settings.value("snap", "", type=str)
        snap_on = settings.value("snap_enabled", True, type=bool)
        key = settings.value("scale_key", 0, type=int)
        scale = settings.value("scale", "Chromatic", type=str)
        settings.endGroup()
        state = self.editor.state
        for division in SNAP_DIVISIONS:
            if division.label == snap:
                state.set_snap(division)
        state.set_snap_enabled(bool(snap_on))
        if scale in SCALES:
            state.set_scale(int(key) % 12, scale)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        # True when the composer's own dock layout came back (studio.ui.layout then
        # leaves it alone instead of applying the default one).
        self.layout_restored = isinstance(window_state, QByteArray) and self.restoreState(
            window_state, LAYOUT_VERSION
        )
        self.editor.state.set_show_ghosts(bool(ghosts))

    def save_settings(self) -> None:
        settings = QSettings()
        settings.beginGroup("MainWindow")
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState(LAYOUT_VERSION))
        state = self.editor.state
        settings.setValue("ghost_notes", state.show_ghosts)
        settings.setValue("snap", state.snap.label)
        settings.setValue("snap_enabled", state.snap_enabled)
        settings.setValue("scale_key", state.scale_key)
        settings.setValue("scale", state.scale_name)
        settings.endGroup()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.save_settings()
        if self.autosaver is not None:  # saved or discarded: no recovery copy is needed
            self.autosaver.document_closed()
        from studio.ui.threads import stop_all

        stop_all()
        if self.transport is not None:  # the sound and its render thread end with the window
            self.transport.shutdown()
        event.accept()
