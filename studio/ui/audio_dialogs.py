"""Audio dialogs: File ▸ Export Audio… and the Audio page of Preferences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from studio.audio.synth import SAMPLE_RATES
from studio.ui.recent import confirm_overwrite, is_bundled, last_folder
from studio.ui.transport import AudioSettings, TransportController

if TYPE_CHECKING:
    from studio.audio.midi_input import PortScan
    from studio.ui.recording import Recorder

WAV_FILTER = "WAV audio (*.wav)"
SOUNDFONT_FILTER = "SoundFonts (*.sf2 *.sf3);;All files (*)"


@dataclass(frozen=True)
class ExportChoice:
    path: str
    loop_only: bool
    sample_rate: int
    float32: bool


class ExportAudioDialog(QDialog):
    """Where to write, the whole song or the loop region, sample rate and sample format."""

    def __init__(
        self, suggested_path: str, has_loop: bool, sample_rate: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Audio")
        form = QFormLayout()
        self.path_edit = QLineEdit(suggested_path, self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("File:", row)

        self.whole = QRadioButton("Whole song (with the last notes' release)", self)
        self.loop = QRadioButton("Loop region only (exact length, for looping)", self)
        self.loop.setEnabled(has_loop)
        if not has_loop:
            self.loop.setToolTip("Drag in the ruler to set a loop region first")
        group = QButtonGroup(self)
        group.addButton(self.whole)
        group.addButton(self.loop)
        (self.loop if has_loop else self.whole).setChecked(True)
        span = QVBoxLayout()
        span.addWidget(self.whole)
        span.addWidget(self.loop)
        form.addRow("Range:", span)

        self.rate = QComboBox(self)
        for rate in SAMPLE_RATES:
            self.rate.addItem(f"{rate} Hz", rate)
        self.rate.setCurrentIndex(max(0, self.rate.findData(sample_rate)))
        form.addRow("Sample rate:", self.rate)
        self.format = QComboBox(self)
        self.format.addItem("16-bit PCM (plays everywhere)", False)
        self.format.addItem("32-bit float (for further mixing)", True)
        form.addRow("Format:", self.format)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #e57373;")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export Audio",
            self.path_edit.text(),
            WAV_FILTER,
            options=QFileDialog.Option.DontConfirmOverwrite,  # asked once, on Save
        )
        if path:
            self.path_edit.setText(path)

    def _accept(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            self.error.setText("Choose a file name.")
            return
        path = Path(text).expanduser()
        if path.suffix.lower() != ".wav":
            path = path.with_suffix(".wav")
        if not path.parent.is_dir():
            self.error.setText(f"The folder {path.parent} does not exist.")
            return
        if is_bundled(path):
            self.error.setText("That folder holds Pianola's bundled files; choose another.")
            return
        if not confirm_overwrite(self, str(path)):
            return
        self.path_edit.setText(str(path))
        self.accept()

    def choice(self) -> ExportChoice:
        return ExportChoice(
            self.path_edit.text(),
            self.loop.isChecked(),
            int(self.rate.currentData()),
            bool(self.format.currentData()),
        )


class AudioSettingsPage(QWidget):
    """Output device, sample rate, an optional SoundFont and the MIDI input (Preferences ▸
    Audio). The MIDI rows appear when the window has a recorder."""

    def __init__(
        self,
        controller: TransportController,
        parent: QWidget | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.recorder = recorder
        settings = controller.settings
        form = QFormLayout(self)

        self.device = QComboBox(self)
        rescan = QPushButton("Rescan", self)
        rescan.setToolTip("Look again for sound cards plugged in since Pianola started")
        rescan.clicked.connect(self._rescan)
        row = QHBoxLayout()
        row.addWidget(self.device, 1)
        row.addWidget(rescan)
        form.addRow("Output device:", row)

        self.rate = QComboBox(self)
        for rate in SAMPLE_RATES:
            self.rate.addItem(f"{rate} Hz", rate)
        self.rate.setCurrentIndex(max(0, self.rate.findData(settings.sample_rate)))
        self.rate.setToolTip("If the device cannot play this rate, Pianola uses one it can")
        form.addRow("Sample rate:", self.rate)

        self.soundfont = QLineEdit(settings.soundfont, self)
        self.soundfont.setPlaceholderText("Built-in synthesizer")
        choose = QPushButton("Choose…", self)
        choose.clicked.connect(self._choose_soundfont)
        clear = QPushButton("Built-in", self)
        clear.setToolTip("Use the built-in synthesizer")
        clear.clicked.connect(lambda: self._set_soundfont(""))
        row = QHBoxLayout()
        row.addWidget(self.soundfont, 1)
        row.addWidget(choose)
        row.addWidget(clear)
        form.addRow("SoundFont:", row)

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self._fill_devices(settings.device)
        if recorder is not None:
            self._add_midi_rows(form, recorder)

    # -- MIDI input -------------------------------------------------------------------------------
    def _add_midi_rows(self, form: QFormLayout, recorder: Recorder) -> None:
        self.midi_port = QComboBox(self)
        self.midi_port.setToolTip("The MIDI keyboard that Record and Step Input listen to")
        self.midi_rescan = QPushButton("Rescan", self)
        self.midi_rescan.setToolTip("Look again for MIDI keyboards plugged in since then")
        self.midi_rescan.clicked.connect(self._rescan_midi)
        row = QHBoxLayout()
        row.addWidget(self.midi_port, 1)
        row.addWidget(self.midi_rescan)
        form.addRow("MIDI input:", row)
        self.midi_monitor = QCheckBox("Hear what I play through Pianola's synthesizer", self)
        self.midi_monitor.setToolTip("Turn off when the keyboard makes its own sound")
        self.midi_monitor.setChecked(recorder.options.monitor)
        form.addRow(self.midi_monitor)
        self.midi_status = QLabel(self)
        self.midi_status.setObjectName("MidiStatus")
        self.midi_status.setWordWrap(True)
        form.addRow(self.midi_status)
        self._fill_midi_ports(recorder.options.port, recorder.midi.scan)

    def _fill_midi_ports(self, selected: str, scan: PortScan) -> None:
        combo = self.midi_port
        combo.clear()
        if not scan.ports:
            combo.addItem("No MIDI input", "")
        else:
            combo.addItem("Automatic (the first keyboard found)", "")
            for port in scan.ports:
                combo.addItem(port, port)
        index = combo.findData(selected) if selected else 0
        if index < 0:
            found = scan.find(selected)
            index = combo.findData(found) if found else -1
        if index < 0 and selected:
            combo.addItem(f"{selected} (not connected)", selected)
            index = combo.count() - 1
        combo.setCurrentIndex(max(0, index))
        combo.setEnabled(bool(scan.ports) or bool(selected))
        assert self.recorder is not None
        self.midi_status.setText(self.recorder.midi.reason)

    def _rescan_midi(self) -> None:
        assert self.recorder is not None
        selected = str(self.midi_port.currentData() or "")
        self._fill_midi_ports(selected, self.recorder.midi.rescan())

    def midi_choice(self) -> str:
        return str(self.midi_port.currentData() or "")

    def _fill_devices(self, selected: str) -> None:
        self.device.clear()
        self.device.addItem("System default", "")
        for device in self.controller.scan.devices:
            self.device.addItem(device.label, device.name)
        index = self.device.findData(selected)
        if index < 0 and selected:
            self.device.addItem(f"{selected} (not connected)", selected)
            index = self.device.count() - 1
        self.device.setCurrentIndex(max(0, index))
        self.device.setEnabled(bool(self.controller.scan.devices) or bool(selected))
        self.status.setText(self.controller.reason)

    def _rescan(self) -> None:
        selected = str(self.device.currentData() or "")
        self.controller.rescan()
        self._fill_devices(selected)

    def _choose_soundfont(self) -> None:
        start = self.soundfont.text() or last_folder()
        path, _ = QFileDialog.getOpenFileName(self, "Choose a SoundFont", start, SOUNDFONT_FILTER)
        if path:
            self._set_soundfont(path)

    def _set_soundfont(self, path: str) -> None:
        self.soundfont.setText(path)
        if not path:
            self.status.setText(self.controller.reason)
            return
        from studio.audio.soundfont import probe

        problem = probe(path, int(self.rate.currentData()))
        self.status.setText(
            f"{problem} Playback will use the built-in synthesizer." if problem else
            f"{Path(path).name} loaded."
        )  # fmt: skip

    def settings(self) -> AudioSettings:
        return AudioSettings(
            device=str(self.device.currentData() or ""),
            sample_rate=int(self.rate.currentData()),
            soundfont=self.soundfont.text().strip(),
        )

    def apply(self) -> None:
        self.controller.apply_settings(self.settings())
        if self.recorder is not None:
            self.recorder.set_port(self.midi_choice(), self.midi_monitor.isChecked())


class AudioSettingsDialog(QDialog):
    """The Audio page in a dialog of its own (Tools ▸ Audio Settings…)."""

    def __init__(
        self,
        controller: TransportController,
        parent: QWidget | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audio Settings")
        if recorder is None:  # the window's recorder, when it has one (MIDI input rows)
            recorder = getattr(parent, "recorder", None)
        self.page = AudioSettingsPage(controller, self, recorder)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.page)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def _accept(self) -> None:
        self.page.apply()
        self.accept()
