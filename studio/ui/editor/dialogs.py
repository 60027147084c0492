"""Small option dialogs for quantize, humanize and velocity scaling."""

from __future__ import annotations

import random

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from studio.core.quantize import SNAP_DIVISIONS, SnapDivision


class _Form(QDialog):
    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout(self)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._buttons = buttons

    def finish(self) -> None:
        self.form.addRow(self._buttons)


class QuantizeDialog(_Form):
    def __init__(self, current: SnapDivision, ticks_per_beat: int, parent=None) -> None:
        super().__init__("Quantize", parent)
        self.ticks_per_beat = ticks_per_beat
        self.grid = QComboBox()
        for division in SNAP_DIVISIONS:
            self.grid.addItem(division.label, division)
        self.grid.setCurrentIndex(list(SNAP_DIVISIONS).index(current))
        self.strength = QSpinBox()
        self.strength.setRange(0, 100)
        self.strength.setValue(100)
        self.strength.setSuffix(" %")
        self.starts = QCheckBox("Note starts")
        self.starts.setChecked(True)
        self.lengths = QCheckBox("Note lengths")
        self.form.addRow("Grid", self.grid)
        self.form.addRow("Strength", self.strength)
        self.form.addRow(self.starts)
        self.form.addRow(self.lengths)
        self.finish()

    def values(self) -> tuple[int, float, bool, bool]:
        division: SnapDivision = self.grid.currentData()
        return (
            division.ticks(self.ticks_per_beat),
            self.strength.value() / 100,
            self.starts.isChecked(),
            self.lengths.isChecked(),
        )


class HumanizeDialog(_Form):
    def __init__(self, ticks_per_beat: int, parent=None) -> None:
        super().__init__("Humanize", parent)
        self.ticks_per_beat = ticks_per_beat
        self.timing = QSpinBox()
        self.timing.setRange(0, ticks_per_beat)
        self.timing.setValue(max(1, ticks_per_beat // 48))
        self.timing.setSuffix(" ticks")
        self.velocity = QSpinBox()
        self.velocity.setRange(0, 64)
        self.velocity.setValue(8)
        self.seed = QSpinBox()
        self.seed.setRange(0, 999_999)
        self.seed.setValue(random.randrange(1_000_000))
        self.form.addRow("Timing ±", self.timing)
        self.form.addRow("Velocity ±", self.velocity)
        self.form.addRow("Seed", self.seed)
        self.finish()

    def values(self) -> tuple[int, int, int]:
        return self.timing.value(), self.velocity.value(), self.seed.value()


class ScaleVelocityDialog(_Form):
    def __init__(self, parent=None) -> None:
        super().__init__("Scale Velocity", parent)
        self.factor = QDoubleSpinBox()
        self.factor.setRange(0, 400)
        self.factor.setValue(100)
        self.factor.setSuffix(" %")
        self.offset = QSpinBox()
        self.offset.setRange(-127, 127)
        self.form.addRow("Scale", self.factor)
        self.form.addRow("Add", self.offset)
        self.finish()

    def values(self) -> tuple[float, int]:
        return self.factor.value() / 100, self.offset.value()
