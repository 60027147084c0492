"""Help ▸ About Pianola: the version, the libraries with their licences, the data's origin."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import studio
from studio.paths import bach_dataset_dir


@dataclass(frozen=True)
class Library:
    name: str
    version: str
    licence: str
    role: str


# (display name, distribution name, licence, what Pianola uses it for). Licences as each
# project declares them; torch and numpy also ship third-party code under their own terms.
LIBRARIES: tuple[tuple[str, str, str, str], ...] = (
    ("PySide6 (Qt for Python)", "PySide6-Essentials", "LGPL-3.0", "the window and widgets"),
    ("PyTorch", "torch", "BSD-3-Clause", "the neural network"),
    ("NumPy", "numpy", "BSD-3-Clause", "note arrays and audio"),
    ("pyqtgraph", "pyqtgraph", "MIT", "training plots"),
    ("sounddevice", "sounddevice", "MIT", "audio output (PortAudio, MIT)"),
    ("pretty_midi", "pretty_midi", "MIT", "MIDI files"),
    ("mido", "mido", "MIT", "MIDI keyboard input"),
    ("python-rtmidi", "python-rtmidi", "MIT", "MIDI ports"),
    ("music21", "music21", "BSD-3-Clause", "MusicXML import and export"),
)


def version() -> str:
    return studio.__version__


def libraries() -> list[Library]:
    """The libraries Pianola runs on, with the versions installed now."""
    found = [Library("Qt", qVersion(), "LGPL-3.0", "the toolkit under PySide6")]
    for name, distribution, licence, role in LIBRARIES:
        try:
            installed = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            installed = pyside_version if distribution.startswith("PySide6") else "not installed"
        found.append(Library(name, installed, licence, role))
    return found


def dataset_provenance() -> str:
    """Where the bundled training data comes from (scripts/build_bach_dataset.py)."""
    folder = bach_dataset_dir()
    count = len(list(folder.glob("*.mid"))) if folder.is_dir() else 0
    pieces = f"{count} four-part chorales" if count else "Four-part chorales"
    return (
        f"{pieces} by J. S. Bach, converted to MIDI from the chorale corpus that ships with "
        "music21 (BSD-3-Clause) by scripts/build_bach_dataset.py: one track per voice "
        "(Soprano, Alto, Tenor, Bass); pieces without exactly four parts are left out. "
        "About one in ten, fixed in split.json, is held out for evaluation. Every bundled "
        "model (models/*.pt, described in models/bach-default.md; the default is "
        "models/bach-lines.pt) was trained on the rest."
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Pianola")
        self.resize(620, 560)
        header = QLabel(
            f"<h2>Pianola {version()}</h2>"
            "<p>Train a convolutional GAN on MIDI you love, generate multi-track piano "
            "rolls, edit, listen and export.</p>"
            "<p>Pianola is free software under the MIT licence. It is built on:</p>",
            self,
        )
        header.setObjectName("AboutHeader")
        header.setWordWrap(True)
        header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        found = libraries()
        self.table = QTableWidget(len(found), 4, self)
        self.table.setHorizontalHeaderLabels(["Library", "Version", "Licence", "Used for"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for row, library in enumerate(found):
            cells = (library.name, library.version, library.licence, library.role)
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header_view = self.table.horizontalHeader()
        for column in range(3):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header_view.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

        self.dataset = QLabel(f"<b>Bundled data</b><br>{dataset_provenance()}", self)
        self.dataset.setObjectName("AboutDataset")
        self.dataset.setWordWrap(True)
        self.dataset.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.dataset)
        layout.addWidget(buttons)

    def library_rows(self) -> list[tuple[str, str, str]]:
        return [
            tuple(self.table.item(row, column).text() for column in range(3))  # type: ignore[misc]
            for row in range(self.table.rowCount())
        ]
