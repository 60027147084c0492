"""The window's default layout: the piano roll is the main area, the panels dock below it.

A composer spends the day in the roll, so on first start (no saved layout) the bottom
docks get only what is left once the roll has `EDITOR_SHARE` of the window's height, and
never more than `MAX_DOCK_SHARE`. The docks shrink to their panels' small minimum
heights (their settings scroll; their primary buttons stay in view), can be hidden from
the View menu, and the main window's saveState/restoreState remembers where the composer
left them: a saved layout is never overridden here.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar

# Saved with the dock layout: a layout saved by an older version (when the panels could
# not shrink and took half the window) is not restored, the new default is used instead.
LAYOUT_VERSION = 2
EDITOR_SHARE = 0.58  # of the window height, for the roll (ruler, notes, velocity lane)
MAX_DOCK_SHARE = 0.32  # a large window gives its extra height to the roll, not the panels
FIRST_GUESS_SHARE = 0.25  # before the window is laid out (corrected after the first show)
FITTED = "pianolaDefaultLayoutFitted"  # window property, set once the default layout is in


def bottom_docks(window: QMainWindow) -> list[QDockWidget]:
    """The docks in the bottom area that are shown (a tab group counts each of its tabs)."""
    return [
        dock
        for dock in window.findChildren(QDockWidget)
        if window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
        and not dock.isHidden()
        and not dock.isFloating()
    ]


def editor_height(window: Any) -> int:
    """Height of the piano roll proper (ruler, keys and notes, velocity lane, scroll bar)."""
    editor = window.editor
    roll = getattr(editor, "roll", None)
    return (roll if roll is not None else editor).height()


def _front(docks: list[QDockWidget]) -> QDockWidget:
    """The dock of a tab group that is on screen (the others keep a stale size)."""
    shown = [d for d in docks if not d.visibleRegion().isEmpty()]
    return shown[0] if shown else docks[0]


def _tab_bar_height(window: QMainWindow, dock: QDockWidget) -> int:
    """Height of the tab bar under a tabbed dock (part of the size resizeDocks sets)."""
    if not window.tabifiedDockWidgets(dock):
        return 0
    bars = [bar.height() for bar in window.findChildren(QTabBar) if bar.isVisible()]
    return max(bars, default=0)


def fit_docks(window: Any) -> None:
    """Size the bottom docks so the roll gets `EDITOR_SHARE` of the window (measured)."""
    docks = bottom_docks(window)
    if not docks:
        window.setProperty(FITTED, True)
        return
    height = window.height()
    front = _front(docks)
    tabs = _tab_bar_height(window, front)
    current = front.height() + tabs
    target_roll = math.ceil(EDITOR_SHARE * height) + 1
    wanted = current + (editor_height(window) - target_roll)
    minimum = max(dock.minimumSizeHint().height() for dock in docks) + tabs
    wanted = max(minimum, min(wanted, int(MAX_DOCK_SHARE * height)))
    if wanted != current:
        window.resizeDocks([front], [wanted], Qt.Orientation.Vertical)
    window.setProperty(FITTED, True)


class _FitOnFirstShow(QObject):
    """Runs `fit_docks` once the window has been shown and laid out, then removes itself."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Show:
            self._window.removeEventFilter(self)
            # The layout settles after the show event; measure then.
            QTimer.singleShot(0, self._fit)
        return False

    def _fit(self) -> None:
        fit_docks(self._window)
        self.deleteLater()


def apply_default_layout(window: Any) -> None:
    """Give the roll the room, unless a layout the composer left was restored."""
    if getattr(window, "layout_restored", False):
        return
    docks = bottom_docks(window)
    if docks:
        guess = max(
            max(d.minimumSizeHint().height() for d in docks),
            int(FIRST_GUESS_SHARE * window.height()),
        )
        window.resizeDocks(docks[:1], [guess], Qt.Orientation.Vertical)
    if window.isVisible():
        QTimer.singleShot(0, lambda: fit_docks(window))
    else:
        window.installEventFilter(_FitOnFirstShow(window))
