"""Choose the training data (bundled Bach chorales or a folder) and scan it in the background.

The scan (parsing every MIDI file, cutting windows) runs in a worker with a progress
bar; the box then shows what the model will learn from — files, windows, tracks, pitch
range — and every file that was skipped, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.common import MessageBox, describe_error, heading, hint, pitch_name
from studio.ui.recent import last_folder, remember_folder
from studio.ui.workers import WorkerHandle, start_generator

BACH = "bach-chorales"
SETTINGS_GROUP = "training/data"


@dataclass
class ScanFailed(Exception):
    """No usable training data; ``skipped`` says why for each file."""

    message: str
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def scan_source(source: str, progress: Any) -> Any:
    """Scan a dataset (in a worker thread). On failure, find each file's reason."""
    from studio.ml.data import scan_dataset
    from studio.ml.errors import DatasetError

    try:
        return scan_dataset(source, progress=progress)
    except DatasetError as exc:
        raise ScanFailed(str(exc), _reasons_per_file(source, str(exc))) from exc


def _reasons_per_file(source: str, dataset_message: str) -> list[tuple[str, str]]:
    """Why each file of a folder is unusable, from the MIDI reader's own errors."""
    from studio.core.midi_io import MidiImportError, load_midi
    from studio.ml.data import find_midi_files

    folder = Path(source)
    if not folder.is_dir():
        return []
    files = find_midi_files(folder)
    if not files:
        return [(folder.name or str(folder), "no MIDI files (.mid, .midi) in this folder")]
    reasons: list[tuple[str, str]] = []
    for path in files:
        try:
            song = load_midi(path)
        except MidiImportError as exc:
            reason = str(exc).removeprefix(str(path)).lstrip(": ")
        except Exception as exc:  # the reader's job is to raise MidiImportError; be safe
            reason = f"unreadable ({type(exc).__name__}: {exc})"
        else:
            reason = (
                "no notes" if song.note_count == 0 else "cannot be mapped to the model's tracks"
            )
        reasons.append((str(path.relative_to(folder)), reason or dataset_message))
    return reasons


class DataSourceBox(QWidget):
    """Source choice, background scan and its findings."""

    scanned = Signal(object)  # DatasetScan
    scanFailed = Signal(str)
    scanStarted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scan: Any = None
        self._scanned_source: str | None = None
        self._handle: WorkerHandle | None = None
        self._closed = False
        self._pending: str | None = None

        self._bach = QRadioButton("Bach chorales (bundled)")
        self._bach.setToolTip(
            "Four-part chorales harmonised by J. S. Bach: Soprano, Alto, Tenor and Bass.\n"
            "A classic first dataset: the model learns voice leading and cadences."
        )
        self._folder_choice = QRadioButton("My MIDI folder")
        self._folder_choice.setToolTip(
            "Any folder of MIDI files (searched recursively). Your pieces are mapped onto\n"
            "drums, piano, guitar, bass and strings by their instruments."
        )
        group = QButtonGroup(self)
        group.addButton(self._bach)
        group.addButton(self._folder_choice)
        self._folder_edit = QLineEdit()
        self._folder_edit.setReadOnly(True)
        self._folder_edit.setPlaceholderText("No folder chosen")
        browse = QPushButton("Choose…")
        browse.setToolTip("Pick a folder of MIDI files to learn from")
        browse.clicked.connect(self._browse)
        self._rescan = QPushButton("Rescan")
        self._rescan.setToolTip("Read the files again (after adding or fixing some)")
        self._rescan.clicked.connect(self.scan)

        self._progress = QProgressBar()
        self._progress.setFormat("Reading files… %v / %m")
        self._progress.hide()
        self._summary = hint("")
        self._message = MessageBox()
        self._skipped_title = QLabel()
        self._skipped = QTreeWidget()
        self._skipped.setHeaderLabels(["Skipped file", "Reason"])
        self._skipped.setRootIsDecorated(False)
        self._skipped.setAlternatingRowColors(True)
        self._skipped.setMaximumHeight(140)
        self._skipped.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self._skipped.header().setStretchLastSection(True)
        self._skipped_title.hide()
        self._skipped.hide()

        folder_row = QHBoxLayout()
        folder_row.addWidget(self._folder_choice)
        folder_row.addWidget(self._folder_edit, 1)
        folder_row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading("1 · What to learn from"))
        source_row = QHBoxLayout()
        source_row.addWidget(self._bach)
        source_row.addStretch(1)
        source_row.addWidget(self._rescan)
        layout.addLayout(source_row)
        layout.addLayout(folder_row)
        layout.addWidget(self._progress)
        layout.addWidget(self._summary)
        layout.addWidget(self._message)
        layout.addWidget(self._skipped_title)
        layout.addWidget(self._skipped)

        settings = QSettings()
        folder = str(settings.value(f"{SETTINGS_GROUP}/folder", "", str))
        self._folder_edit.setText(folder)
        use_folder = settings.value(f"{SETTINGS_GROUP}/use_folder", False, bool) and bool(folder)
        (self._folder_choice if use_folder else self._bach).setChecked(True)
        group.buttonToggled.connect(self._on_choice_toggled)

    # -- public --------------------------------------------------------------------------
    def source(self) -> str:
        if self._folder_choice.isChecked() and self._folder_edit.text():
            return self._folder_edit.text()
        return BACH

    def source_label(self) -> str:
        src = self.source()
        return "Bach chorales" if src == BACH else Path(src).name

    @property
    def scan_result(self) -> Any:
        """The scan of the current source, or None while unknown/failed."""
        return self._scan if self._scanned_source == self.source() else None

    @property
    def is_scanning(self) -> bool:
        return self._handle is not None and self._handle.is_running

    @property
    def summary(self) -> str:
        """The line that says what the scan found (or that it is reading)."""
        return self._summary.text()

    def skipped_rows(self) -> list[tuple[str, str]]:
        return [
            (self._skipped.topLevelItem(k).text(0), self._skipped.topLevelItem(k).text(1))
            for k in range(self._skipped.topLevelItemCount())
        ]

    def set_folder(self, folder: str) -> None:
        """Use a folder of MIDI files (and scan it)."""
        self._folder_edit.setText(str(folder))
        QSettings().setValue(f"{SETTINGS_GROUP}/folder", str(folder))
        if self._folder_choice.isChecked():
            self.scan()
        else:
            self._folder_choice.setChecked(True)  # toggling scans

    def use_bach(self) -> None:
        if self._bach.isChecked():
            self.scan()
        else:
            self._bach.setChecked(True)

    def ensure_scanned(self) -> None:
        # A deferred call can arrive after the window closed: never start a thread then.
        if self._closed:
            return
        if self.scan_result is None and not self.is_scanning:
            self.scan()

    def scan(self) -> None:
        source = self.source()
        if self.is_scanning:
            # One scan at a time: abort the old one, start this one when it has ended.
            self._pending = source
            assert self._handle is not None
            self._handle.abort()
            return
        self._scan = None
        self._scanned_source = None
        self._message.hide()
        self._show_skipped([])
        self._summary.setText(f"Reading {self.source_label()}…")
        self._progress.setRange(0, 0)
        self._progress.show()
        self._handle = start_generator(
            scan_source,
            source,
            report_arg="progress",
            coalesce=lambda _: True,
            throttle_ms=100,
            name="pianola-dataset-scan",
            connect={
                "yieldedBatch": self._on_progress,
                "returned": self._on_scanned,
                "errored": self._on_failed,
                "finished": self._on_finished,
            },
        )
        self._handle.setProperty("source", source)
        self.scanStarted.emit()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self._closed = True
        if self._handle is not None:
            self._handle.shutdown(timeout_ms)

    # -- worker results ---------------------------------------------------------------------
    def _on_progress(self, batch: list) -> None:
        done, total = batch[-1]
        self._progress.setRange(0, max(1, int(total)))
        self._progress.setValue(int(done))

    def _on_scanned(self, scan: Any) -> None:
        handle = self.sender()
        source = handle.property("source") if handle is not None else self.source()
        self._scan = scan
        self._scanned_source = source
        low, high = scan.pitch_range
        held = f" · {scan.heldout_files} held out to measure quality" if scan.heldout_files else ""
        self._summary.setText(
            f"<b>{scan.files_found - len(scan.skipped)}</b> of {scan.files_found} files used · "
            f"<b>{scan.windows:,}</b> phrases of {scan.bars} bars · "
            f"{len(scan.tracks)} tracks ({', '.join(scan.tracks)}) · "
            f"pitch {pitch_name(low)}–{pitch_name(high)}{held}"
        )
        self._show_skipped(list(scan.skipped))
        self.scanned.emit(scan)

    def _on_failed(self, error: BaseException) -> None:
        title, detail = describe_error(error)
        if isinstance(error, ScanFailed):
            title = "No usable music found — training cannot start."
            detail = error.message
            self._show_skipped(error.skipped)
        self._summary.setText("")
        self._message.show_error(title, detail)
        self.scanFailed.emit(f"{title} {detail}")

    def _on_finished(self) -> None:
        self._progress.hide()
        self._handle = None
        if self._pending is not None:
            self._pending = None
            self.scan()

    # -- internals ----------------------------------------------------------------------
    def _show_skipped(self, rows: list[tuple[str, str]]) -> None:
        self._skipped.clear()
        for name, reason in rows:
            item = QTreeWidgetItem([Path(name).name if "/" in name else name, reason])
            item.setToolTip(0, name)
            item.setToolTip(1, reason)
            self._skipped.addTopLevelItem(item)
        self._skipped_title.setText(f"Skipped files ({len(rows)})")
        self._skipped_title.setVisible(bool(rows))
        self._skipped.setVisible(bool(rows))

    def _browse(self) -> None:
        start = self._folder_edit.text() or last_folder()
        folder = QFileDialog.getExistingDirectory(self, "Folder of MIDI files", start)
        if folder:
            remember_folder(folder)  # next time, start beside this folder
            self.set_folder(folder)

    def _on_choice_toggled(self, button: QRadioButton, checked: bool) -> None:
        if not checked:
            return
        QSettings().setValue(f"{SETTINGS_GROUP}/use_folder", self._folder_choice.isChecked())
        if self._folder_choice.isChecked() and not self._folder_edit.text():
            self._browse()
            if not self._folder_edit.text():
                self._bach.setChecked(True)
            return
        self.scan()
