"""The training settings form: every knob with a tooltip in a composer's words.

Values are remembered between sessions (QSettings group ``training``); the form turns
them into the engine's `TrainConfig`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.common import heading

GROUP = "training"

PRESET_HELP = {
    "tiny": "Tiny (quick sketch)",
    "small": "Small (fast to generate)",
    "default": "Default (full model)",
}

TOOLTIPS = {
    "preset": (
        "How big the network is.\n"
        "• tiny: learns in minutes, but only sketches.\n"
        "• small: half the default's channels; generates about twice as fast.\n"
        "• default: the model Pianola ships with; needs hours on a CPU, but writes\n"
        "  convincing four-part harmony."
    ),
    "steps": (
        "How many rounds of practice. In every step the generator writes a batch of\n"
        "phrases and the critic compares them with real ones from your data.\n"
        "More steps: better music, longer wait."
    ),
    "batch_size": (
        "How many phrases are written and judged in each step.\n"
        "Larger batches learn more steadily but need more memory —\n"
        "lower it if training stops with 'out of memory'."
    ),
    "lr_g": (
        "How boldly the generator changes its style after each critique.\n"
        "Too high and it never settles (or the losses become NaN); too low and it\n"
        "learns slowly. The default is a safe choice."
    ),
    "lr_d": (
        "How quickly the critic sharpens its ear. Keep it close to the generator's\n"
        "rate so that neither side runs away from the other."
    ),
    "lr_settle": (
        "Lower both learning rates step by step over the second half of the run, to a\n"
        "tenth of their value at the last step. At a constant rate a GAN keeps swinging\n"
        "between better and worse music; slowing down lets it settle on one.\n"
        "(pianola train --lr-decay linear --lr-decay-start STEPS/2)"
    ),
    "checkpoint_every": (
        "How often the model is saved to disk. You can stop at any time, resume\n"
        "later, or generate music from any saved stage."
    ),
    "preview_every": (
        "How often a fresh sample appears under 'Hear it learn'. Click it to listen\n"
        "to how the model sounds at that moment."
    ),
    "metrics_every": (
        "How often the model's music is measured against your data (empty bars,\n"
        "pitch classes, notes at once, …). The dashed lines show the data's values."
    ),
    "seed": (
        "The starting point of every random choice. The same seed, settings and data\n"
        "give the same training run — change it to get a different 'composer'."
    ),
    "device": (
        "Where the arithmetic runs. A graphics card (CUDA, or Apple's MPS) trains many\n"
        "times faster than the CPU."
    ),
    "runs_folder": "Where each training run (checkpoints, previews, logs) is saved.",
    "phrase_conditioning": (
        "Teach the model where phrases end, so that the Generation panel can ask for a\n"
        "cadence every few bars. Needs the phrase ends of the music: the bundled Bach\n"
        "chorales have them (their fermatas, in phrases.json); a folder without a\n"
        "phrases.json cannot be trained this way."
    ),
}


def _available_devices() -> list[tuple[str, str]]:
    from studio.ml.devices import available_devices

    return [("auto", "Best available"), *available_devices()]


def _presets() -> list[str]:
    from studio.ml.models import PRESETS

    return list(PRESETS)


def default_runs_folder() -> str:
    try:
        from studio.paths import user_data_dir

        return str(Path(user_data_dir()) / "runs")
    except ImportError:
        return str(Path.home() / "Pianola" / "runs")


class TrainingSettingsForm(QWidget):
    """Model size, steps, batch, learning rates, intervals, seed, device, runs folder."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from studio.ml.train import TrainConfig

        defaults = TrainConfig()
        self.preset = QComboBox()
        for name in _presets():
            self.preset.addItem(PRESET_HELP.get(name, name), name)
        self.steps = _spin(10, 10_000_000, defaults.steps, 100)
        self.batch_size = _spin(1, 4096, defaults.batch_size, 8)
        self.lr_g = _rate(defaults.lr_g)
        self.lr_d = _rate(defaults.lr_d)
        self.lr_settle = QCheckBox("Settle over the second half")
        self.checkpoint_every = _spin(1, 1_000_000, defaults.checkpoint_every, 100, " steps")
        self.preview_every = _spin(1, 1_000_000, defaults.preview_every, 50, " steps")
        self.metrics_every = _spin(1, 1_000_000, defaults.metrics_every, 100, " steps")
        self.seed = _spin(0, 2**31 - 1, defaults.seed, 1)
        self.device = QComboBox()
        for device_id, label in _available_devices():
            self.device.addItem(label, device_id)
        self.phrase_conditioning = QCheckBox("Learn phrase ends")
        self.runs_folder = QLineEdit(default_runs_folder())
        browse = QPushButton("…")
        browse.setToolTip("Choose the folder that holds training runs")
        browse.setFixedWidth(32)
        browse.clicked.connect(self._browse_runs)
        runs_row = QHBoxLayout()
        runs_row.addWidget(self.runs_folder, 1)
        runs_row.addWidget(browse)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        rows: list[tuple[str, str, Any]] = [
            ("preset", "Model size", self.preset),
            ("steps", "Training steps", self.steps),
            ("batch_size", "Batch size", self.batch_size),
            ("lr_g", "Generator learning rate", self.lr_g),
            ("lr_d", "Critic learning rate", self.lr_d),
            ("lr_settle", "Slow down", self.lr_settle),
            ("checkpoint_every", "Save a checkpoint every", self.checkpoint_every),
            ("preview_every", "New preview every", self.preview_every),
            ("metrics_every", "Measure quality every", self.metrics_every),
            ("seed", "Seed", self.seed),
            ("device", "Device", self.device),
            ("phrase_conditioning", "Phrases", self.phrase_conditioning),
        ]
        for key, label, widget in rows:
            widget.setToolTip(TOOLTIPS[key])
            form.addRow(label, widget)
        self.runs_folder.setToolTip(TOOLTIPS["runs_folder"])
        form.addRow("Save runs in", runs_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading("2 · How to learn"))
        layout.addLayout(form)

        self.load()
        for spin in self._spins():
            spin.valueChanged.connect(self._on_changed)
        self.preset.currentIndexChanged.connect(self._on_changed)
        self.device.currentIndexChanged.connect(self._on_changed)
        for _name, box in self._named_boxes():
            box.toggled.connect(self._on_changed)
        self.runs_folder.editingFinished.connect(self._on_changed)

    # -- config ---------------------------------------------------------------------------
    def config(self, data: str, out_dir: str, resume: bool = False) -> Any:
        from studio.ml.train import TrainConfig

        settle = self.lr_settle.isChecked()
        return TrainConfig(
            data=data,
            out_dir=out_dir,
            preset=str(self.preset.currentData()),
            steps=self.steps.value(),
            batch_size=self.batch_size.value(),
            lr_g=self.lr_g.value(),
            lr_d=self.lr_d.value(),
            lr_decay="linear" if settle else "none",
            lr_decay_start=self.steps.value() // 2 if settle else 0,
            lr_final=0.1,
            checkpoint_every=self.checkpoint_every.value(),
            preview_every=self.preview_every.value(),
            metrics_every=self.metrics_every.value(),
            seed=self.seed.value(),
            device=str(self.device.currentData()),
            phrase_conditioning=self.phrase_conditioning.isChecked(),
            resume=resume,
            # Leave one core to the GUI thread so the window stays responsive.
            threads=max(1, (os.cpu_count() or 2) - 1),
        )

    def set_values(self, **values: Any) -> None:
        """Set fields by TrainConfig name (``preset="tiny", steps=40, ...``)."""
        for key, value in values.items():
            widget = getattr(self, key)
            if isinstance(widget, QComboBox):
                index = widget.findData(value)
                if index < 0:
                    raise ValueError(f"{key}: no choice {value!r}")
                widget.setCurrentIndex(index)
            elif isinstance(widget, QLineEdit):
                widget.setText(str(value))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            else:
                widget.setValue(value)
        self.save()

    # -- persistence ----------------------------------------------------------------------
    def load(self) -> None:
        settings = QSettings()
        settings.beginGroup(GROUP)
        for name, spin in self._named_spins():
            if settings.contains(name):
                kind = float if isinstance(spin, QDoubleSpinBox) else int
                spin.setValue(settings.value(name, spin.value(), kind))
        for name, combo in (("preset", self.preset), ("device", self.device)):
            index = combo.findData(settings.value(name, combo.currentData(), str))
            if index >= 0:
                combo.setCurrentIndex(index)
        self.runs_folder.setText(str(settings.value("runs_folder", self.runs_folder.text(), str)))
        for name, box in self._named_boxes():
            box.setChecked(bool(settings.value(name, False, bool)))  # Qt reads "true" etc.
        settings.endGroup()

    def save(self) -> None:
        settings = QSettings()
        settings.beginGroup(GROUP)
        for name, spin in self._named_spins():
            settings.setValue(name, spin.value())
        settings.setValue("preset", self.preset.currentData())
        settings.setValue("device", self.device.currentData())
        settings.setValue("runs_folder", self.runs_folder.text())
        for name, box in self._named_boxes():
            settings.setValue(name, box.isChecked())
        settings.endGroup()

    def _named_spins(self) -> list[tuple[str, QSpinBox | QDoubleSpinBox]]:
        names = (
            "steps",
            "batch_size",
            "lr_g",
            "lr_d",
            "checkpoint_every",
            "preview_every",
            "metrics_every",
            "seed",
        )
        return [(n, getattr(self, n)) for n in names]

    def _named_boxes(self) -> list[tuple[str, QCheckBox]]:
        return [("phrase_conditioning", self.phrase_conditioning), ("lr_settle", self.lr_settle)]

    def _spins(self) -> list[QSpinBox | QDoubleSpinBox]:
        return [s for _, s in self._named_spins()]

    def _on_changed(self) -> None:
        self.save()
        self.changed.emit()

    def _browse_runs(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Folder for training runs", self.runs_folder.text()
        )
        if folder:
            self.runs_folder.setText(folder)
            self._on_changed()


def _spin(low: int, high: int, value: int, step: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setSuffix(suffix)
    spin.setGroupSeparatorShown(True)
    return spin


def _rate(value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(6)
    spin.setRange(1e-6, 1e-1)
    spin.setSingleStep(5e-5)
    spin.setValue(value)
    return spin
