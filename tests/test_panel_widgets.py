"""Live loss plots and piano-roll thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt

from studio.core.pianoroll import ONSET, RollSpec
from studio.core.song import Notes, Song, Track
from studio.ui.panels.loss_plots import GrowingSeries, LossPlots
from studio.ui.panels.roll_thumbnail import RollThumbnail, ThumbnailStrip


def small_song(title: str = "Test", shift: int = 0) -> Song:
    melody = Notes([60 + shift, 62 + shift, 64 + shift], [0, 480, 960], [480, 480, 960])
    bass = Notes([36, 43], [0, 960], [960, 960])
    return Song(
        title,
        tracks=[Track("Melody", notes=melody), Track("Bass", colour="#e57373", notes=bass)],
    )


def test_growing_series_keeps_every_point_and_smooths_past_nan():
    series = GrowingSeries(capacity=4)
    series.extend(np.arange(3.0), np.array([1.0, 1.0, 1.0]))
    series.extend(np.arange(3.0, 10.0), np.array([1.0, np.nan, 1.0, 1.0, 1.0, 1.0, 1.0]))
    x, y, smooth = series.view()
    assert series.count == 10 and len(series.x) >= 10
    assert list(x) == list(range(10))
    assert np.isnan(y[4])
    # A constant signal smooths to itself (debiased EMA), and NaN does not poison it.
    assert np.allclose(smooth, 1.0)


def test_loss_plots_draw_on_the_timer_not_per_call(qtbot):
    plots = LossPlots()
    qtbot.addWidget(plots)
    steps = np.arange(1, 201)
    plots.add_losses(steps, np.sin(steps / 10), np.cos(steps / 10), np.abs(np.sin(steps)))
    assert plots.point_count == 200
    assert plots.curve_point_count("g") == 0  # not drawn yet: drawing is the timer's job
    qtbot.waitUntil(lambda: plots.curve_point_count("g") == 200, timeout=2000)
    assert plots.curve_point_count("gp") == 200
    plots.add_metrics(100, {"empty_bars": 0.3, "polyphony": 2.5}, {"empty_bars": 0.1})
    plots.add_metrics(200, {"empty_bars": 0.2, "polyphony": 2.9}, {"empty_bars": 0.1})
    assert plots.metric_names == ["empty_bars", "polyphony"]
    qtbot.waitUntil(lambda: plots.metric_point_count("empty_bars") == 2, timeout=2000)
    ref = plots._metric_plots["empty_bars"].reference
    assert ref.isVisible() and ref.value() == 0.1
    assert not plots._metric_plots["polyphony"].reference.isVisible()
    plots.clear()
    assert plots.point_count == 0 and plots.metric_names == []


def _legend(legend) -> list[str]:
    return [label.text for _sample, label in legend.items]


def test_loss_plots_name_every_curve_and_keep_a_usable_height(qtbot):
    plots = LossPlots()
    qtbot.addWidget(plots)
    plots.resize(700, 80)  # a dock dragged as small as it goes
    plots.show()
    qtbot.waitExposed(plots)
    assert plots.height() >= LossPlots.MIN_PLOT_HEIGHT
    # The legend sits above the curves and names both players and the faint per-step line.
    assert _legend(plots.loss_legend) == ["generator", "critic", "faint: per step"]
    legend_box = plots.loss_legend.sceneBoundingRect()
    assert not legend_box.intersects(plots.loss_plot.getViewBox().sceneBoundingRect())
    assert plots.loss_plot.getViewBox().height() >= 90  # room for the curves themselves
    assert _legend(plots.penalty_legend) == ["note error"]
    steps = np.arange(1, 21)
    plots.add_losses(steps, steps * 0.0, steps * 0.0, np.full(20, 0.5))
    plots.refresh()
    assert _legend(plots.penalty_legend) == ["note error", "gradient penalty"]
    # Quality tiles re-flow to the view's shape instead of squeezing into fixed columns.
    names = [f"metric_{k}" for k in range(6)]
    plots.add_metrics(10, dict.fromkeys(names, 0.5), {})
    wide = plots._metric_columns
    plots._metrics_view.resize(140, 400)
    assert plots._metric_columns < wide


def test_thumbnail_click_plays_and_double_click_opens(qtbot):
    strip = ThumbnailStrip()
    qtbot.addWidget(strip)
    strip.resize(600, 200)
    strip.show()
    for k in range(3):
        strip.add_song(small_song(f"Variation {k + 1}", shift=k), f"Variation {k + 1}")
    assert len(strip) == 3
    thumb = strip.thumbnail(1)
    with qtbot.waitSignal(strip.playRequested) as played:
        qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert played.args == [1]
    assert strip.selected_indices() == [1]
    with qtbot.waitSignal(strip.openRequested) as opened:
        qtbot.mouseDClick(strip.thumbnail(2), Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert opened.args == [2]
    # Ctrl-click adds to the selection (two variations to interpolate between).
    qtbot.mouseClick(
        strip.thumbnail(0), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier
    )
    assert strip.selected_indices() == [0, 1]


def test_strip_drops_the_oldest_beyond_its_limit(qtbot):
    strip = ThumbnailStrip(max_items=2)
    qtbot.addWidget(strip)
    for k in range(4):
        strip.add_song(small_song(), f"step {k}")
    assert [strip.thumbnail(k).caption for k in range(len(strip))] == ["step 2", "step 3"]


def test_thumbnail_paints_the_notes_in_track_colours(qtbot):
    thumb = RollThumbnail(small_song(), "Preview")
    qtbot.addWidget(thumb)
    image = thumb.grab().toImage()
    colours = {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(96)}
    assert "#4fc3f7" in colours and "#e57373" in colours


def test_thumbnail_from_a_roll(qtbot):
    roll = np.zeros((2, 16, 128), dtype=np.int8)
    roll[0, 0:4, 60] = [ONSET, 1, 1, 1]
    roll[1, 8, 40] = ONSET
    thumb = RollThumbnail.from_roll(roll, RollSpec(), caption="step 100")
    qtbot.addWidget(thumb)
    assert thumb.song.note_count == 2
    assert thumb.caption == "step 100"


def test_training_panel_says_step_0_of_1_and_choose_data_only_when_true(qtbot, tmp_path):
    import shutil

    from studio.ui.panels.training_panel import TrainingPanel

    bach = Path(__file__).resolve().parents[1] / "resources" / "datasets" / "bach_chorales"
    folder = tmp_path / "chorales"
    folder.mkdir()
    shutil.copy(bach / "bwv10.7.mid", folder / "bwv10.7.mid")
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.settings_form.set_values(steps=5000, runs_folder=str(tmp_path / "runs"))
    # Nothing scanned yet: choosing the data is the next step, and no run is invented.
    assert "choose what to learn from" in panel.status_label.text().lower()
    assert panel.progress.text() == "Not started · 5,000 steps planned"
    panel.settings_form.steps.setValue(300)
    assert panel.progress.text() == "Not started · 300 steps planned"
    # Once the music is read, the panel says it is ready instead.
    panel.data_box.set_folder(str(folder))
    qtbot.waitUntil(lambda: panel.data_box.scan_result is not None, timeout=30_000)
    text = panel.status_label.text()
    assert "choose what to learn from" not in text.lower()
    assert text == "Ready to learn from chorales: press Start."
    assert "step 0 / 1" not in panel.progress.text()
    assert panel.start_button.isEnabled()
    panel.data_box.shutdown()


def test_training_error_is_scrolled_into_view_in_a_short_dock(qtbot, tmp_path):
    from studio.ui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 170)  # the dock at its smallest
    panel.show()
    qtbot.waitExposed(panel)
    assert not panel.resume_run(str(tmp_path))  # a folder without checkpoints
    message = panel.message
    qtbot.waitUntil(
        lambda: message.isVisible() and message.visibleRegion().boundingRect() == message.rect()
    )
    assert "Nothing to resume" in message.text
    # Start stays in view below the scrolled settings.
    start = panel.start_button
    assert start.visibleRegion().boundingRect() == start.rect()
    panel.data_box.shutdown()


def test_a_training_notice_is_shown_in_the_panel(qtbot):
    # The trainer's Notice (e.g. --resume fell back past a damaged checkpoint) reaches the
    # composer in the panel, not only the log.
    from studio.ml.train import Notice
    from studio.ui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel._on_event(Notice("resuming from step_0000200.pt (step 200) instead"))
    qtbot.waitUntil(panel.message.isVisible)
    assert "resuming from step_0000200.pt" in panel.message.text
    assert not panel.message.is_error
    panel.data_box.shutdown()
