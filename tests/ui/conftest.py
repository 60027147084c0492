"""Fixtures shared by the window-level UI tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def window(qtbot):
    """A bare main window (no audio, no panels), shown and exposed."""
    from studio.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window
