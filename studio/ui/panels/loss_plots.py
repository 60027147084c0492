"""Live training plots: losses, gradient penalty and sample-quality tiles.

pyqtgraph habits (see STYLE.md): one `PlotDataItem` per series, created once; points
go into preallocated arrays that grow by doubling; curves are redrawn by a timer (a few
times a second), never per training step; `setDownsampling(mode='peak')` and
`setClipToView(True)` keep a 100,000-step run as cheap to draw as a 1,000-step one.
The quality metrics are tiles with their numbers (`quality_tiles`), not tiny plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from studio.ui.panels.plot_pens import plot_pen
from studio.ui.panels.quality_tiles import METRIC_LABELS, QualityTile, QualityTiles, metric_label
from studio.ui.panels.series import GrowingSeries

BACKGROUND = "#1e1f22"
FOREGROUND = "#b8bcc4"
GRID_ALPHA = 0.15
GENERATOR_COLOUR = "#4fc3f7"
CRITIC_COLOUR = "#ffb74d"
PENALTY_COLOUR = "#ba68c8"
RECON_COLOUR = "#81c784"
REFRESH_MS = 250
RAW_ALPHA = 45
# Smoothing as in TensorBoard: an exponential moving average, debiased at the start.

__all__ = ["METRIC_LABELS", "GrowingSeries", "LossPlots", "metric_label"]


def _style_axes(plot: pg.PlotItem) -> None:
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(FOREGROUND))
        axis.setTextPen(pg.mkPen(FOREGROUND))
        axis.enableAutoSIPrefix(False)  # "(x0.001)" on an axis means nothing to a composer


def _style_plot(plot: pg.PlotItem, y_label: str | None) -> None:
    # The x axis is the training step (said in the tooltip): an axis title would cost
    # a plot in a short dock a sixth of its height.
    if y_label:
        plot.setLabel("left", y_label, color=FOREGROUND)
    _style_axes(plot)
    # No grid and an x range that grows in steps (see LossPlots._grow_x_range): these
    # plots repaint at every training step, and replaying a grid or re-laying out an
    # axis each time is most of what a repaint costs.
    plot.enableAutoRange(x=False, y=True)
    plot.setXRange(0, 10, padding=0.02)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    plot.setMenuEnabled(False)


def _legend_row(columns: int) -> pg.LegendItem:
    """A legend that sits in its own row above a plot: it never covers the curves, and
    it names every curve, so it doubles as the plot's title."""
    legend = pg.LegendItem(
        labelTextColor=FOREGROUND, labelTextSize="8pt", colCount=columns, verSpacing=-6
    )
    legend.setPen(pg.mkPen(None))
    legend.setBrush(pg.mkBrush(None))
    legend.layout.setContentsMargins(0, 0, 0, 0)
    return legend


class _StepAxis(pg.AxisItem):
    """A step axis with a label every ~60 px at most: in a narrow plot pyqtgraph's own
    spacing runs the numbers together ("200400600")."""

    PX_PER_LABEL = 60

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list:
        span = maxVal - minVal
        if span <= 0 or size <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        wanted = span / max(1.0, size / self.PX_PER_LABEL)
        power = 10.0 ** math.floor(math.log10(wanted))
        major = next(m * power for m in (1, 2, 5, 10) if m * power >= wanted)
        return [(major, 0.0)]


class _RawSample(pg.PlotDataItem):
    """A legend sample only (never drawn in a plot): a faint grey line."""

    def __init__(self) -> None:
        super().__init__(pen=plot_pen(FOREGROUND, 1.0, 110))


class _View(pg.GraphicsLayoutWidget):
    """A plot view that says when its size changes (its legend then re-flows)."""

    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class LossPlots(QWidget):
    """Losses (raw + smoothed), gradient penalty and quality tiles of a run."""

    MIN_PLOT_HEIGHT = 150  # below this the axis labels, title and legend crowd the curve

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(self.MIN_PLOT_HEIGHT)
        self.setMinimumWidth(360)
        # Separate views: a view repaints every item that changed, and each step changes
        # the loss curves' axes; keeping the (many) metric plots in a view of their own
        # means a training step never repaints them. Side by side, in a splitter: the
        # panel is a wide, short dock under the editor.
        self._graphics = _View()
        self._penalty_view = _View()
        # The quality metrics are widgets (text that elides, tooltips, a scrolling grid
        # that wraps), not a graphics view: in a 150 px dock, twelve tiny plots with
        # their names drawn over them were unreadable.
        self._metrics_view = QualityTiles()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for view, stretch, width in (
            (self._graphics, 3, 240),
            (self._penalty_view, 1, 140),
            (self._metrics_view, 2, 130),
        ):
            if isinstance(view, _View):
                view.setBackground(BACKGROUND)
                view.ci.setSpacing(2)
                view.ci.setContentsMargins(2, 2, 4, 2)
            view.setMinimumSize(width, self.MIN_PLOT_HEIGHT)
            splitter.addWidget(view)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([420, 150, 330])  # the note-error plot needs the least width
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        # Row 0: the legend (it names the curves: the generator writes, the critic
        # judges); row 1: the plot.
        self.loss_legend = _legend_row(3)
        self._graphics.resized.connect(self._flow_loss_legend)
        self._graphics.ci.addItem(self.loss_legend, row=0, col=0)
        self.loss_plot: pg.PlotItem = self._graphics.addPlot(
            row=1, col=0, axisItems={"bottom": _StepAxis("bottom")}
        )
        _style_plot(self.loss_plot, "loss")
        self._graphics.setToolTip(
            "Losses by training step. The generator writes phrases; the critic judges them "
            "against your data.\nBright lines are smoothed; the faint lines behind them are "
            "each step's value."
        )
        self.penalty_legend = _legend_row(1)
        self._penalty_view.ci.addItem(self.penalty_legend, row=0, col=0)
        self.penalty_plot: pg.PlotItem = self._penalty_view.addPlot(
            row=1, col=0, axisItems={"bottom": _StepAxis("bottom")}
        )
        _style_plot(self.penalty_plot, None)
        self._penalty_view.setToolTip(
            "How far the generator's phrases are, note for note, from the real ones it\n"
            "was asked to complete, by training step (and the gradient penalty, when used)."
        )
        for view in (self._graphics, self._penalty_view):
            view.ci.layout.setRowStretchFactor(1, 1)

        self.g_series = GrowingSeries()
        self.d_series = GrowingSeries()
        self.gp_series = GrowingSeries()
        self.recon_series = GrowingSeries()
        self._curves = {
            # Width-1 pens only: Qt's raster engine draws wider (and translucent wide)
            # lines several times slower, and this view repaints at every step.
            "g": self.loss_plot.plot(pen=plot_pen(GENERATOR_COLOUR, bright=True)),
            "d": self.loss_plot.plot(pen=plot_pen(CRITIC_COLOUR, bright=True)),
            "g_raw": self.loss_plot.plot(pen=plot_pen(GENERATOR_COLOUR, 1.0, RAW_ALPHA)),
            "d_raw": self.loss_plot.plot(pen=plot_pen(CRITIC_COLOUR, 1.0, RAW_ALPHA)),
            "recon": self.penalty_plot.plot(pen=plot_pen(RECON_COLOUR, bright=True)),
            "recon_raw": self.penalty_plot.plot(pen=plot_pen(RECON_COLOUR, 1.0, RAW_ALPHA)),
            "gp_raw": self.penalty_plot.plot(pen=plot_pen(PENALTY_COLOUR, 1.0, RAW_ALPHA)),
            "gp": self.penalty_plot.plot(pen=plot_pen(PENALTY_COLOUR, bright=True)),
        }
        for key in ("g", "d", "recon", "gp"):
            self._curves[key].setZValue(1)  # smoothed curves over the raw ones
        # The bright line is the smoothed loss; each step's raw value is the faint one
        # behind it (one entry: the colours already say which is which).
        self.loss_legend.addItem(self._curves["g"], "generator")
        self.loss_legend.addItem(self._curves["d"], "critic")
        self._raw_sample = _RawSample()
        self.loss_legend.addItem(self._raw_sample, "faint: per step")
        self.penalty_legend.addItem(self._curves["recon"], "note error")
        # The penalty only exists with the WGAN-GP objective: show it once it is non-zero.
        self._gp_seen = False
        self._curves["gp_raw"].setVisible(False)
        self._curves["gp"].setVisible(False)
        for curve in self._curves.values():
            curve.setData(x=np.zeros(0), y=np.zeros(0), connect="finite")

        self._losses_dirty = False
        self._x_bound = 10.0
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        # Two short lines in the middle of the empty plot (x 0..10, y 0..1): one long
        # line anchored near x=0 lost its first words in the plot's left edge.
        self._placeholder = pg.TextItem(
            "Start training to watch\nthe generator and the critic learn.",
            color=FOREGROUND,
            anchor=(0.5, 0.5),
        )
        self._placeholder.setFont(QFont(self.font().family(), 9))
        self.loss_plot.addItem(self._placeholder, ignoreBounds=True)
        self._placeholder.setPos(5.0, 0.5)

    # -- feeding data (cheap: arrays only, drawing happens in `refresh`) ------------------
    def add_losses(
        self,
        steps: np.ndarray | list[int],
        g_loss: np.ndarray | list[float],
        d_loss: np.ndarray | list[float],
        gp: np.ndarray | list[float] | None = None,
        recon: np.ndarray | list[float] | None = None,
    ) -> None:
        xs = np.asarray(steps, dtype=np.float64)
        self.g_series.extend(xs, np.asarray(g_loss, dtype=np.float64))
        self.d_series.extend(xs, np.asarray(d_loss, dtype=np.float64))
        if gp is not None:
            gp_values = np.asarray(gp, dtype=np.float64)
            self.gp_series.extend(xs, gp_values)
            self._gp_seen = self._gp_seen or bool(np.any(np.abs(gp_values) > 0))
        if recon is not None:
            self.recon_series.extend(xs, np.asarray(recon, dtype=np.float64))
        self._losses_dirty = True

    def add_metrics(
        self, step: int, generated: Mapping[str, float], reference: Mapping[str, float]
    ) -> None:
        self._metrics_view.add(step, generated, reference)

    def clear(self) -> None:
        for series in (self.g_series, self.d_series, self.gp_series, self.recon_series):
            series.clear()
        self._gp_seen = False
        self._metrics_view.clear()
        self._x_bound = -1.0  # forces the x range back to the start
        self._losses_dirty = True
        self.refresh()

    # -- drawing ----------------------------------------------------------------------------
    @property
    def point_count(self) -> int:
        """Loss points received so far (what the curves show after the next refresh)."""
        return self.g_series.count

    @property
    def metric_names(self) -> list[str]:
        return self._metrics_view.names

    @property
    def quality_tiles(self) -> QualityTiles:
        return self._metrics_view

    @property
    def _metric_plots(self) -> dict[str, QualityTile]:
        return self._metrics_view.tiles

    @property
    def _metric_columns(self) -> int:
        return self._metrics_view.columns

    def curve_point_count(self, key: str = "g") -> int:
        """Points the named curve currently draws (for tests: proves `refresh` ran)."""
        x, _ = self._curves[key].getOriginalDataset()
        return 0 if x is None else len(x)

    def metric_point_count(self, name: str) -> int:
        return self._metrics_view.tiles[name].point_count()

    def refresh(self) -> None:
        if self._losses_dirty:
            self._losses_dirty = False
            self._refresh_losses()
        self._metrics_view.refresh()

    def _grow_x_range(self) -> None:
        last = float(self.g_series.x[self.g_series.count - 1]) if self.g_series.count else 0.0
        bound = self._x_bound
        if last <= bound and bound <= max(10.0, 4 * last):
            return
        bound = max(10.0, last * 1.3)
        self._x_bound = bound
        for plot in (self.loss_plot, self.penalty_plot):
            plot.setXRange(0, bound, padding=0.02)

    def _refresh_losses(self) -> None:
        self._grow_x_range()
        if self._gp_seen and not self._curves["gp"].isVisible():
            self._curves["gp_raw"].setVisible(True)
            self._curves["gp"].setVisible(True)
            self.penalty_legend.addItem(self._curves["gp"], "gradient penalty")
        series_by_key = [("g", self.g_series), ("d", self.d_series), ("recon", self.recon_series)]
        if self._gp_seen or not self.gp_series.count:
            series_by_key.append(("gp", self.gp_series))
        for key, series in series_by_key:
            x, raw, smooth = series.view()
            self._curves[f"{key}_raw"].setData(x=x, y=raw, connect="finite")
            self._curves[key].setData(x=x, y=smooth, connect="finite")
        self._placeholder.setVisible(self.g_series.count == 0)

    def _flow_loss_legend(self) -> None:
        """One row of three entries when it fits, else two rows (nothing is cut off)."""
        columns = 3 if self._graphics.width() >= 300 else 2
        if self.loss_legend.columnCount != columns:
            self.loss_legend.setColumnCount(columns)
