"""The app's look: Fusion with a dark palette and a few stylesheet touches."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QToolBar { background: #1f2228; border: none; border-bottom: 1px solid #111317; spacing: 3px;
           padding: 3px; }
QToolBar QToolButton { padding: 3px; border-radius: 4px; }
QToolBar QToolButton:checked { background: #3a4150; }
QToolBar QToolButton:hover { background: #2f3541; }
QMenu::separator { height: 1px; background: #3a3f4a; margin: 4px 8px; }
QDockWidget::title { background: #1f2228; padding: 4px; }
QStatusBar { background: #1a1c21; color: #aab1bf; }
QLineEdit { background: #15171b; border: 1px solid #30343d; border-radius: 3px; padding: 1px 4px; }
QLineEdit[frame="false"] { border: none; background: transparent; }
QComboBox { padding: 2px 6px; }
QScrollBar:horizontal { height: 12px; background: #17191d; }
QScrollBar:vertical { width: 12px; background: #17191d; }
QScrollBar::handle { background: #3a3f4a; border-radius: 4px; min-width: 24px; min-height: 24px;
                     margin: 2px; }
QScrollBar::handle:hover { background: #4a5160; }
QScrollBar::add-line, QScrollBar::sub-line { width: 0; height: 0; }
QScrollBar::add-page, QScrollBar::sub-page { background: none; }
QSplitter::handle { background: #111317; }
"""


def dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#202329",
        QPalette.ColorRole.WindowText: "#dfe3ea",
        QPalette.ColorRole.Base: "#16181c",
        QPalette.ColorRole.AlternateBase: "#1d2025",
        QPalette.ColorRole.ToolTipBase: "#2b2f38",
        QPalette.ColorRole.ToolTipText: "#eef0f4",
        QPalette.ColorRole.PlaceholderText: "#7d8492",
        QPalette.ColorRole.Text: "#dfe3ea",
        QPalette.ColorRole.Button: "#2a2e36",
        QPalette.ColorRole.ButtonText: "#dfe3ea",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Link: "#4fc3f7",
        QPalette.ColorRole.Highlight: "#3d7eff",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Light: "#3a3f4a",
        QPalette.ColorRole.Midlight: "#30343d",
        QPalette.ColorRole.Mid: "#262a31",
        QPalette.ColorRole.Dark: "#121418",
        QPalette.ColorRole.Shadow: "#0a0b0d",
    }
    for role, value in colours.items():
        palette.setColor(role, QColor(value))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7280"))
    return palette


def apply_dark_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
