"""Editing state shared by the editor's parts: tool, snap, last note length, scale, ghosts."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from studio.core.quantize import SNAP_DIVISIONS, SnapDivision

TOOLS = ("draw", "select", "erase")


class EditorState(QObject):
    """Small mutable settings that are not part of the song (so not undoable)."""

    toolChanged = Signal(str)
    snapChanged = Signal()
    scaleChanged = Signal()
    ghostsChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tool = "draw"
        self.snap = SNAP_DIVISIONS[4]  # 1/16
        self.snap_enabled = True
        self.last_length_beats = 1.0  # length of the next drawn note, in beats
        self.scale_key = 0
        self.scale_name = "Chromatic"
        self.show_ghosts = True

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; choose one of {TOOLS}")
        if tool != self.tool:
            self.tool = tool
            self.toolChanged.emit(tool)

    def set_snap(self, division: SnapDivision) -> None:
        if division != self.snap:
            self.snap = division
            self.snapChanged.emit()

    def set_snap_enabled(self, enabled: bool) -> None:
        if enabled != self.snap_enabled:
            self.snap_enabled = bool(enabled)
            self.snapChanged.emit()

    def set_scale(self, key: int, name: str) -> None:
        if (key, name) != (self.scale_key, self.scale_name):
            self.scale_key, self.scale_name = int(key) % 12, name
            self.scaleChanged.emit()

    def set_show_ghosts(self, show: bool) -> None:
        if show != self.show_ghosts:
            self.show_ghosts = bool(show)
            self.ghostsChanged.emit(self.show_ghosts)

    def grid_ticks(self, ticks_per_beat: int) -> int:
        return self.snap.ticks(ticks_per_beat)
