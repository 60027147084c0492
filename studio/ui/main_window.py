"""The main window: menus built from the action registry, the editor, docks, files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.midi_io import MidiExportError, MidiImportError, load_midi, save_midi
from studio.core.project import Project, ProjectError, load_project, save_project
from studio.core.quantize import SNAP_DIVISIONS
from studio.core.scales import SCALES
from studio.core.song import Song
from studio.ui.document import SongDocument, default_song
from studio.ui.editor import PianoRollEditor
from studio.ui.editor.actions import EDITOR_ACTIONS, ActionSpec
from studio.ui.icons import icon

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
PROJECT_SUFFIX = ".pianola"
MIDI_FILTER = "MIDI files (*.mid *.midi *.kar)"
PROJECT_FILTER = "Pianola projects (*.pianola)"
MENUS = (("file", "&File"), ("edit", "&Edit"), ("view", "&View"), ("tools", "&Tools"),
         ("help", "&Help"))  # fmt: skip


def _window_actions() -> tuple[ActionSpec, ...]:
    """File and Help commands; their callbacks take (document, window)."""
    key = QKeySequence.StandardKey
    return (
        ActionSpec("file.new", "New", "file", lambda d, w: w.new_song(), (key.New,),
                   section="new", editor_scope=False),
        ActionSpec("file.open_midi", "Open MIDI…", "file", lambda d, w: w.open_midi_dialog(),
                   (key.Open,), section="open", editor_scope=False),
        ActionSpec("file.open_project", "Open Project…", "file",
                   lambda d, w: w.open_project_dialog(), ("Ctrl+Shift+O",), section="open",
                   editor_scope=False),
        ActionSpec("file.save", "Save", "file", lambda d, w: w.save(), (key.Save,),
                   section="save", editor_scope=False),
        ActionSpec("file.save_as", "Save As…", "file", lambda d, w: w.save_as(),
                   ("Ctrl+Shift+S",), section="save", editor_scope=False),
        ActionSpec("file.export_midi", "Export MIDI…", "file", lambda d, w: w.export_midi(),
                   ("Ctrl+E",), section="export", editor_scope=False),
        ActionSpec("file.quit", "Quit", "file", lambda d, w: w.close(), ("Ctrl+Q",),
                   section="quit", editor_scope=False),
        ActionSpec("help.shortcuts", "Keyboard Shortcuts", "help",
                   lambda d, w: w.show_shortcuts(), ("F1",), editor_scope=False),
        ActionSpec("help.about", "About Pianola", "help", lambda d, w: w.show_about(),
                   editor_scope=False),
    )  # fmt: skip


class ShortcutsDialog(QDialog):
    """Help ▸ Keyboard Shortcuts: built from the same registry as the menus."""

    def __init__(
        self,
        specs: list[ActionSpec],
        parent: QWidget | None = None,
        extra_actions: list[QAction] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        # Rows: the registry's commands, then shortcuts that other parts of the app (the
        # transport, audio export) added to the window's menus and toolbars.
        entries = [(s.title, s.shortcut_text(), s.menu.title(), s.tip or s.title) for s in specs]
        for action in extra_actions or []:
            title = action.text().replace("&", "")
            menus = [
                m.title().replace("&", "")
                for m in action.associatedObjects()
                if isinstance(m, QMenu)
            ]
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            entries.append((title, keys, menus[0] if menus else "", action.toolTip() or title))
        self.resize(560, 640)
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
    """Pianola's window. Other panels attach with `add_panel` and `set_transport_bar`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PianolaMainWindow")
        self.setWindowIcon(icon("pianola"))
        self.document = SongDocument(default_song(), self)
        self.editor = PianoRollEditor(self.document, self)
        self.generation_settings: dict[str, Any] = {}
        self._menus: dict[str, QMenu] = {}
        self.specs: list[ActionSpec] = []
        self.actions_by_id: dict[str, QAction] = {}

        central = QWidget(self)
        self._central_layout = QVBoxLayout(central)
        self._central_layout.setContentsMargins(0, 0, 0, 0)
        self._central_layout.setSpacing(0)
        self._transport: QWidget | None = None
        self._central_layout.addWidget(self.editor, 1)
        self.setCentralWidget(central)
        self.setAcceptDrops(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
        )

        for name, title in MENUS:
            self._menus[name] = self.menuBar().addMenu(title)
        self._install_actions()
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

    # -- public API for other panels --------------------------------------------------------
    def menu(self, name: str) -> QMenu:
        """The QMenu "file", "edit", "view", "tools" or "help"."""
        return self._menus[name]

    def add_panel(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        """Add a dock panel; its visibility toggle goes into the View menu."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        # Docks usually arrive after restoreState(): put this one back where (and whether)
        # the composer left it; only a dock the saved state does not know goes to `area`.
        if not self.restoreDockWidget(dock):
            self.addDockWidget(area, dock)
        self.menu("view").addAction(dock.toggleViewAction())
        return dock

    def set_transport_bar(self, widget: QWidget) -> None:
        """Put the transport controls at the top of the window (replacing any previous)."""
        if self._transport is not None:
            self._central_layout.removeWidget(self._transport)
            self._transport.setParent(None)
        self._transport = widget
        self._central_layout.insertWidget(0, widget)
        widget.show()

    # -- actions and menus ------------------------------------------------------------------
    def _install_actions(self) -> None:
        window_specs = _window_actions()
        for spec in window_specs:
            action = QAction(spec.title, self)
            action.setObjectName(spec.id)
            action.setShortcuts(spec.key_sequences())
            action.setStatusTip(spec.tip or spec.title)
            action.triggered.connect(lambda _c=False, s=spec: s.callback(self.document, self))
            self.addAction(action)
            self.actions_by_id[spec.id] = action
        self.actions_by_id.update(self.editor.actions_by_id)
        self.specs = list(window_specs) + list(EDITOR_ACTIONS)
        order = ("file", "edit", "view", "tools", "help")
        for menu_name in order:
            menu = self.menu(menu_name)
            section = None
            for spec in self.specs:
                if spec.menu != menu_name:
                    continue
                if section is not None and spec.section != section:
                    menu.addSeparator()
                section = spec.section
                menu.addAction(self.actions_by_id[spec.id])
        self.menu("view").addSeparator()

    def show_shortcuts(self) -> ShortcutsDialog:
        registered = set(self.actions_by_id.values())
        extra = [
            a
            for a in self.findChildren(QAction)
            if a not in registered and not a.shortcut().isEmpty()
        ]
        dialog = ShortcutsDialog(self.specs, self, extra)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Pianola",
            "<b>Pianola</b><br>Train a convolutional GAN on MIDI you love, generate, edit, "
            "listen and export.",
        )

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
            self.statusBar().showMessage("No tracks: add one with + in the track list")
            return
        selected = len(doc.selection)
        total = len(track.notes)
        text = f"{track.name}: {total} notes"
        if selected:
            text += f", {selected} selected"
        self.statusBar().showMessage(text)

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
        path, _ = QFileDialog.getOpenFileName(self, title, self._last_dir(), file_filter)
        if path:
            self.open_path(path, ask=False)

    def open_path(self, path: str | os.PathLike[str], ask: bool = True) -> bool:
        """Open a .mid/.midi or .pianola file. On failure, explain and keep the current song."""
        path = str(path)
        if ask and not self.maybe_save():
            return False
        try:
            if path.lower().endswith(PROJECT_SUFFIX):
                project = load_project(path)
                song, document_path = project.song, path
                self.generation_settings = dict(project.generation_settings)
                active = next(
                    (i for i, s in enumerate(project.track_view_state) if s.get("active")), 0
                )
            else:
                song, document_path = load_midi(path), path
                self.generation_settings = {}
                active = 0
        except (MidiImportError, ProjectError) as error:
            QMessageBox.critical(self, "Cannot open file", str(error))
            return False
        except OSError as error:
            QMessageBox.critical(self, "Cannot open file", f"Cannot read '{path}': {error}")
            return False
        self._remember_dir(path)
        self.document.set_song(song, document_path)  # the editor zooms to fit
        self.document.set_active_track(active)
        return True

    def save(self) -> bool:
        """Save the project; a song opened from MIDI (or new) asks for a project name."""
        path = self.document.path
        if path and path.lower().endswith(PROJECT_SUFFIX):
            return self.save_to(path)
        return self.save_as()

    def save_as(self) -> bool:
        suggestion = self._suggest(PROJECT_SUFFIX)
        path, _ = QFileDialog.getSaveFileName(self, "Save Project", suggestion, PROJECT_FILTER)
        if not path:
            return False
        if not path.lower().endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        doc = self.document
        project = Project(
            doc.song,
            [{"active": k == doc.active_track} for k in range(len(doc.song.tracks))],
            dict(self.generation_settings),
        )
        try:
            save_project(project, path)
        except (ProjectError, OSError) as error:
            QMessageBox.critical(self, "Cannot save project", str(error))
            return False
        self._remember_dir(path)
        doc.mark_saved(path)
        return True

    def export_midi(self) -> bool:
        suggestion = self._suggest(".mid")
        path, _ = QFileDialog.getSaveFileName(self, "Export MIDI", suggestion, MIDI_FILTER)
        if not path:
            return False
        if not path.lower().endswith(MIDI_SUFFIXES):
            path += ".mid"
        try:
            save_midi(self.document.song, path)
        except (MidiExportError, OSError) as error:
            QMessageBox.critical(self, "Cannot export MIDI", str(error))
            return False
        self._remember_dir(path)
        self.statusBar().showMessage(f"Exported {Path(path).name}", 5000)
        return True

    def _suggest(self, suffix: str) -> str:
        if self.document.path:
            return str(Path(self.document.path).with_suffix(suffix))
        name = (self.document.song.title or "Untitled") + suffix
        return str(Path(self._last_dir()) / name)

    def _last_dir(self) -> str:
        return str(QSettings().value("files/last_dir", str(Path.home())))

    def _remember_dir(self, path: str) -> None:
        QSettings().setValue("files/last_dir", str(Path(path).parent))

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
            if local and local.lower().endswith((*MIDI_SUFFIXES, PROJECT_SUFFIX)):
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
        if isinstance(window_state, QByteArray):
            self.restoreState(window_state)
        self.editor.state.set_show_ghosts(bool(ghosts))

    def save_settings(self) -> None:
        settings = QSettings()
        settings.beginGroup("MainWindow")
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
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
        from studio.ui.threads import stop_all

        stop_all()
        event.accept()
