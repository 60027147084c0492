"""Colours of the editor: a dark theme with clear contrast between rows, grid and notes."""

from __future__ import annotations

from PySide6.QtGui import QColor

WHITE_ROW = QColor("#23262d")
BLACK_ROW = QColor("#1b1d23")
OUT_OF_SCALE_ROW = QColor("#111215")
ROW_LINE = QColor("#2a2e36")
OCTAVE_LINE = QColor("#3a3f4a")
BAR_LINE = QColor("#59606e")
BEAT_LINE = QColor("#363b46")
SNAP_LINE = QColor("#2b2f37")
NOTE_BORDER = QColor(0, 0, 0, 150)
SELECTED_BORDER = QColor("#ffffff")
NOTE_TEXT = QColor(10, 12, 16, 210)
PLAYHEAD = QColor("#ff5a5f")
LOOP_FILL = QColor(255, 196, 61, 26)
LOOP_EDGE = QColor(255, 196, 61, 150)
HOVER_OUTLINE = QColor(255, 255, 255, 170)
RUBBER_FILL = QColor(120, 170, 255, 40)
RUBBER_EDGE = QColor(120, 170, 255, 200)
RULER_BG = QColor("#1a1c21")
RULER_TEXT = QColor("#c9ced8")
RULER_TICK = QColor("#5b6270")
PANEL_BG = QColor("#1a1c21")
KEY_WHITE = QColor("#e4e6eb")
KEY_BLACK = QColor("#2a2d33")
KEY_PRESSED = QColor("#4fc3f7")
KEY_HOVER = QColor("#bfe6f7")
KEY_OUT_OF_SCALE = QColor("#a9adb5")
KEY_LABEL = QColor("#3b3f47")
VELOCITY_BG = QColor("#17191d")
VELOCITY_GUIDE = QColor("#2a2e36")

BLACK_KEYS = frozenset({1, 3, 6, 8, 10})


def is_black(pitch: int) -> bool:
    return pitch % 12 in BLACK_KEYS


def note_fill(colour: QColor, velocity: int, selected: bool) -> QColor:
    """Louder notes are brighter; selected notes are lighter still."""
    level = 0.55 + 0.45 * (velocity / 127.0)
    base = QColor(colour)
    if selected:
        base = base.lighter(150)
    h, s, v, a = base.getHsvF()
    return QColor.fromHsvF(h, s, min(1.0, v * level), a)
