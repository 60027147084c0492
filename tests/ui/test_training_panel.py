"""The Training panel in the app's window: it reads its data only once it is looked at,
and its quality tiles are readable at every common screen size (tests' own settings)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from audio_fakes import SilentBackend
from PySide6.QtCore import QRect, QSettings

from studio.ui.app import create_main_window
from studio.ui.layout import FITTED
from studio.ui.panels.dataset_box import SETTINGS_GROUP
from studio.ui.panels.quality_tiles import metric_label, tile_width

BACH = Path(__file__).resolve().parents[2] / "resources" / "datasets" / "bach_chorales"
SIZES = ((1280, 720), (1400, 860), (1920, 1080))
# What the engine reports for a Bach run (studio.ml.metrics), with values as wide as
# they get in print: "0.873" beside "data 0.934".
GENERATED = {
    "empty_bar_rate": 0.041,
    "pitch_classes_per_bar": 3.214,
    "qualified_note_rate": 0.873,
    "notes_per_bar": 5.62,
    "polyphony": 3.71,
    "polyphonic_rate": 0.662,
    "pitch_class_entropy": 2.514,
    "scale_consistency": 0.941,
    "tonal_distance": 0.412,
    "voice_range_rate": 0.963,
    "voice_crossing_rate": 0.021,
    "parallel_rate": 0.041,
}
REFERENCE = {name: value * 1.07 for name, value in GENERATED.items()}


@pytest.fixture
def make_window(qtbot):
    made = []

    def make(width: int = 1400, height: int = 860, before_show=None):
        window = create_main_window(audio_backend=SilentBackend(), threaded_audio=False)
        qtbot.addWidget(window)
        window.resize(width, height)
        if before_show is not None:
            before_show(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        qtbot.waitUntil(lambda: bool(window.property(FITTED)), timeout=3000)
        return window

    yield make
    for window in made:
        window.document.undo_stack.setClean()
        window.close()  # stops the panels' workers (the dataset scan)


@pytest.fixture
def few_chorales(tmp_path: Path) -> Path:
    """Three chorales chosen as the training data (a scan of them takes a moment)."""
    folder = tmp_path / "chorales"
    folder.mkdir()
    for name in ("bwv10.7.mid", "bwv101.7.mid", "bwv102.7.mid"):
        shutil.copy(BACH / name, folder / name)
    settings = QSettings()
    settings.setValue(f"{SETTINGS_GROUP}/folder", str(folder))
    settings.setValue(f"{SETTINGS_GROUP}/use_folder", True)
    return folder


def _hide_training_dock(window) -> None:
    window.panels.training_dock.hide()


@pytest.mark.parametrize(
    "how",
    ["behind the Generation tab", "closed from the View menu"],
)
def test_a_training_panel_out_of_sight_reads_no_data_until_it_is_shown(
    qtbot, make_window, few_chorales, how
):
    closed = how.startswith("closed")
    window = make_window(before_show=_hide_training_dock if closed else None)
    panels = window.panels
    box = panels.training.data_box
    started: list[bool] = []
    box.scanStarted.connect(lambda: started.append(True))
    qtbot.wait(300)  # deferred start-up work has run by now
    assert panels.generation_dock.isVisible()
    assert not started and not box.is_scanning and box.scan_result is None

    with qtbot.waitSignal(box.scanStarted, timeout=3000):
        if closed:
            window.commands.trigger("view.panel.training")
        panels.training_dock.raise_()
    qtbot.waitUntil(lambda: box.scan_result is not None, timeout=30_000)
    # The summary appears as before: what the model will learn from.
    assert "3</b> of 3 files used" in box.summary
    assert panels.training.start_button.isEnabled()
    # Looking again (another tab, then back) does not read the files again.
    panels.generation_dock.raise_()
    panels.training_dock.raise_()
    qtbot.wait(100)
    assert len(started) == 1 and not box.is_scanning


def _inside(inner: QRect, outer: QRect) -> bool:
    return outer.contains(inner)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_quality_tiles_show_their_names_and_numbers_in_full(qtbot, make_window, width, height):
    window = make_window(width, height)
    panels = window.panels
    panels.training_dock.raise_()
    plots = panels.training.plots
    tiles = plots.quality_tiles
    qtbot.waitUntil(lambda: tiles.isVisible() and not tiles.visibleRegion().isEmpty())
    for step in (100, 200, 300):
        plots.add_metrics(step, {k: v * step / 300 for k, v in GENERATED.items()}, REFERENCE)
    plots.refresh()
    qtbot.wait(50)  # the grid lays out

    assert plots.metric_names == list(GENERATED)
    assert tiles.columns >= 2
    body = tiles.widget()
    placed = []
    for name, tile in tiles.tiles.items():
        assert tile.width() >= tile_width(tile.font())
        assert tile.point_count() == 3
        for label in tile.text_labels:
            text = label.full_text()
            # Nothing shortened, nothing cut: the text is narrower than its label, and
            # the label lies inside its tile (which lies inside the grid).
            assert not label.is_elided, (name, text, label.text())
            assert label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width()
            assert _inside(label.geometry(), tile.contentsRect()), (name, text)
        assert _inside(tile.geometry(), body.rect())
        # The full name and both numbers are a hover away.
        tip = tile.toolTip()
        assert metric_label(name) in tip
        assert f"{GENERATED[name]:.4g}" in tip and f"{REFERENCE[name]:.4g}" in tip
        placed.append(tile.geometry())
    # No two tiles overlap; the first row is in view without scrolling.
    for k, a in enumerate(placed):
        assert not any(a.intersects(b) for b in placed[k + 1 :])
    first_row = list(tiles.tiles.values())[: tiles.columns]
    viewport = tiles.viewport()
    for tile in first_row:
        assert _inside(
            QRect(tile.mapTo(viewport, tile.rect().topLeft()), tile.size()), viewport.rect()
        )
    # A larger window shows more of them at once.
    if width >= 1920:
        assert tiles.columns >= 4


def test_a_name_too_long_for_its_tile_is_shortened_and_the_tooltip_has_it(qtbot):
    from studio.ui.panels.loss_plots import LossPlots

    plots = LossPlots()
    qtbot.addWidget(plots)
    plots.resize(600, 150)
    plots.show()
    qtbot.waitExposed(plots)
    name = "share_of_bars_where_every_voice_rests_at_once_in_a_newer_engine"
    plots.add_metrics(10, {name: 0.5}, {name: 0.25})
    plots.refresh()
    qtbot.wait(50)
    tile = plots.quality_tiles.tiles[name]
    assert tile.title_label.is_elided and tile.title_label.text().endswith("…")
    assert metric_label(name) in tile.toolTip()
    # The numbers still show in full.
    assert not tile.value_label.is_elided and not tile.data_label.is_elided
    assert tile.data_label.text() == "data 0.250"
