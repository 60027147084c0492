"""The editor's tool bar: tools, snap, scale assist and ghost notes."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QWidget

from studio.core.quantize import SNAP_DIVISIONS
from studio.core.scales import NOTE_NAMES, SCALES
from studio.ui.editor.state import EditorState


class EditorToolBar(QToolBar):
    def __init__(self, state: EditorState, actions: dict[str, QAction], parent=None) -> None:
        super().__init__("Editor", parent)
        self.state = state
        self.setObjectName("EditorToolBar")
        self.setIconSize(QSize(20, 20))
        for action_id in ("tools.draw", "tools.select", "tools.erase"):
            self.addAction(actions[action_id])
        self.addSeparator()
        self.addAction(actions["tools.snap"])
        self.snap = QComboBox(self)
        self.snap.setToolTip("Snap division (grid)")
        for division in SNAP_DIVISIONS:
            self.snap.addItem(division.label, division)
        self.snap.setCurrentIndex(list(SNAP_DIVISIONS).index(state.snap))
        self.snap.currentIndexChanged.connect(
            lambda k: state.set_snap(SNAP_DIVISIONS[k]) if k >= 0 else None
        )
        self.addWidget(self.snap)
        self.addSeparator()
        self.addWidget(_label("Scale", self))
        self.key = QComboBox(self)
        self.key.setToolTip("Key (tonic) for scale assist")
        self.key.addItems(NOTE_NAMES)
        self.scale = QComboBox(self)
        self.scale.setToolTip("Scale: rows outside it are shaded darker")
        self.scale.addItems(list(SCALES))
        self.key.currentIndexChanged.connect(self._scale_changed)
        self.scale.currentIndexChanged.connect(self._scale_changed)
        self.addWidget(self.key)
        self.addWidget(self.scale)
        self.addAction(actions["edit.select_out_of_scale"])
        self.addSeparator()
        self.addAction(actions["view.ghost_notes"])
        state.snapChanged.connect(self._sync)
        state.scaleChanged.connect(self._sync)

    def _scale_changed(self) -> None:
        self.state.set_scale(self.key.currentIndex(), self.scale.currentText())

    def _sync(self) -> None:
        for combo, index in (
            (self.snap, list(SNAP_DIVISIONS).index(self.state.snap)),
            (self.key, self.state.scale_key),
            (self.scale, list(SCALES).index(self.state.scale_name)),
        ):
            if combo.currentIndex() != index:
                combo.blockSignals(True)
                combo.setCurrentIndex(index)
                combo.blockSignals(False)


def _label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(f"  {text} ", parent)
    return label
