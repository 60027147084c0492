"""The window's layout as a composer meets it: the roll is the main area at every common
screen size, each panel's primary button is on screen, the docks shrink and hide, and
the layout the composer leaves comes back (in the tests' own settings, never the user's).
"""

from __future__ import annotations

import pytest
from audio_fakes import SilentBackend
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QWidget

from studio.paths import bach_dataset_dir
from studio.ui.app import create_main_window
from studio.ui.layout import EDITOR_SHARE, FITTED, bottom_docks, editor_height

SIZES = ((1280, 720), (1400, 860), (1920, 1080))


@pytest.fixture
def make_window(qtbot):
    made = []

    def make(width: int = 1400, height: int = 860):
        window = create_main_window(audio_backend=SilentBackend(), threaded_audio=False)
        qtbot.addWidget(window)
        window.resize(width, height)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        if not window.layout_restored:  # the default layout is fitted once it is laid out
            qtbot.waitUntil(lambda: bool(window.property(FITTED)), timeout=3000)
        return window

    yield make
    for window in made:
        window.document.undo_stack.setClean()
        window.close()  # stops the panels' workers (the dataset scan)


def fully_visible(widget: QWidget) -> bool:
    """Shown, and no part of it clipped by a scroll area, a dock edge or the window."""
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


def roll_share(window) -> float:
    return editor_height(window) / window.height()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_roll_is_the_main_area_and_primary_buttons_are_on_screen(qtbot, make_window, width, height):
    window = make_window(width, height)
    assert window.size().toTuple() == (width, height)
    # The default layout settles once the window is laid out: the roll gets most of the
    # height, and the panels keep a useful part of it.
    qtbot.waitUntil(lambda: 0.55 <= roll_share(window) < EDITOR_SHARE + 0.05, timeout=3000)
    panels = window.panels
    for dock, button in (
        (panels.training_dock, panels.training.start_button),
        (panels.generation_dock, panels.generation.generate_button),
    ):
        dock.raise_()
        qtbot.waitUntil(lambda button=button: fully_visible(button), timeout=3000)
    # The plots keep a usable height even at the smallest size.
    assert panels.training.plots.height() >= panels.training.plots.MIN_PLOT_HEIGHT
    assert roll_share(window) >= 0.55  # showing a panel does not steal the roll's room


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_fit_shows_a_chorale_in_readable_rows(qtbot, make_window, width, height):
    window = make_window(width, height)
    qtbot.waitUntil(lambda: roll_share(window) >= 0.55, timeout=3000)
    assert window.open_path(bach_dataset_dir() / "bwv10.7.mid", ask=False)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.editor.canvas.setFocus()
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_F)
    assert window.editor.view.row_height >= 8


def test_docks_shrink_hide_and_the_layout_is_remembered(qtbot, make_window):
    window = make_window(1400, 860)
    qtbot.waitUntil(lambda: roll_share(window) >= 0.55, timeout=3000)
    panels = window.panels
    dock = panels.training_dock
    dock.raise_()
    # Dragged down as far as it goes: the dock shrinks to a small height, Start stays.
    window.resizeDocks([dock], [40], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: dock.height() <= 200, timeout=3000)
    qtbot.waitUntil(lambda: fully_visible(panels.training.start_button), timeout=3000)
    panels.generation_dock.raise_()
    qtbot.waitUntil(lambda: fully_visible(panels.generation.generate_button), timeout=3000)
    dock.raise_()
    shrunk_roll = editor_height(window)
    assert shrunk_roll > 0.6 * window.height()
    # Hidden from the View menu, both panels give all their room to the roll.
    for command in ("view.panel.training", "view.panel.generation"):
        window.commands.trigger(command)
    qtbot.waitUntil(lambda: not bottom_docks(window), timeout=3000)
    qtbot.waitUntil(lambda: editor_height(window) > shrunk_roll + 100, timeout=3000)
    window.commands.trigger("view.panel.training")
    window.commands.trigger("view.panel.generation")
    qtbot.waitUntil(lambda: dock.isVisible(), timeout=3000)
    window.resizeDocks([dock], [260], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: abs(editor_height(window) - shrunk_roll) > 30, timeout=3000)
    kept_roll = editor_height(window)
    window.document.undo_stack.setClean()
    window.close()  # saves the layout (to the tests' settings)
    assert QSettings().contains("MainWindow/state")

    again = make_window(1400, 860)
    assert again.layout_restored
    # The composer's layout comes back as it was, not the default one.
    qtbot.wait(100)
    assert abs(editor_height(again) - kept_roll) <= 4


def test_a_layout_saved_by_an_older_version_gives_way_to_the_default(qtbot, make_window):
    window = make_window(1400, 860)
    qtbot.waitUntil(lambda: roll_share(window) >= 0.55, timeout=3000)
    dock = window.panels.generation_dock
    window.resizeDocks([dock], [600], Qt.Orientation.Vertical)  # the old half-window dock
    qtbot.waitUntil(lambda: roll_share(window) < 0.5, timeout=3000)
    QSettings().setValue("MainWindow/state", window.saveState())  # saved without a version
    again = make_window(1400, 860)
    assert not again.layout_restored
    qtbot.waitUntil(lambda: roll_share(again) >= 0.55, timeout=3000)
