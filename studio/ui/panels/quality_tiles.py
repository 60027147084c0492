"""Quality tiles: one small card per sample-quality metric, in a grid that wraps.

Each tile reads at a glance in a short dock: a short name, the latest value of fresh
samples (in the tile's colour), your data's value, and a word-sized sparkline of the
samples' value at each check against a dashed line at the data's value. The full name,
what the metric means and both numbers are in the tile's tooltip, so a name that has to
be shortened (a narrow column, a large font) loses nothing.

The grid picks as many columns as tiles of `tile_width` fit (what the numbers need in the
fonts in use), re-flows when the view is resized, and scrolls vertically when there are
more rows than room: text is never squeezed, overlapped or cut mid-glyph (a name too
long for its tile ends in "…"). Three rows fit the default 150 px dock: at 1920x1080 all
twelve tiles of a Bach run are in view, at 1280x720 six, and the rest a scroll away.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.plot_pens import plot_pen
from studio.ui.panels.series import GrowingSeries

BACKGROUND = "#1e1f22"
TILE_BACKGROUND = "#26282d"
FOREGROUND = "#b8bcc4"
MUTED = "#8a909b"
METRIC_COLOURS = ("#4db6ac", "#ba68c8", "#f06292", "#fff176", "#90a4ae", "#e57373", "#aed581")
TILE_MIN_WIDTH = 100  # at least; in fact what a full row of numbers needs (`tile_width`)
TILE_MARGINS = (5, 2, 4, 2)  # left (after the 2 px colour bar), top, right, bottom
ACCENT_WIDTH = 2
NUMBER_SPACING = 4
TYPICAL_VALUE = "0.000"  # what `format_value` writes for most metrics
SPARK_HEIGHT = 11
SPACING = 3  # three rows of tiles fit the default 150 px dock
TEXT_POINT_SIZE = 8.0

# What the engine calls its metrics, in words a composer reads at a glance.
METRIC_LABELS = {
    "empty_bar_rate": "Empty bars",
    "pitch_classes_per_bar": "Pitch classes per bar",
    "qualified_note_rate": "Notes long enough",
    "polyphonic_rate": "Steps with chords",
    "pitch_class_entropy": "Pitch variety",
    "scale_consistency": "In one key",
    "empty_bars": "Empty bars",
    "empty_bar_ratio": "Empty bars",
    "used_pitch_classes": "Pitch classes used",
    "pitch_classes": "Pitch classes used",
    "polyphony": "Notes at once",
    "polyphonicity": "Notes at once",
    "notes_per_bar": "Notes per bar",
    "pitch_range": "Pitch range",
    "tonal_distance": "Tonal distance",
    "in_scale": "In key",
    "qualified_notes": "Note lengths OK",
    "voice_range_rate": "Notes in voice range",
    "voice_crossing_rate": "Voice crossings",
    "parallel_rate": "Parallel fifths and octaves",
}

# Names for a tile (~90 px at a small font); the tooltip has the full name.
SHORT_LABELS = {
    "pitch_classes_per_bar": "Pitch classes",
    "qualified_note_rate": "Long enough",
    "polyphonic_rate": "Chords",
    "voice_range_rate": "In range",
    "parallel_rate": "Parallels",
}

DESCRIPTIONS = {
    "empty_bar_rate": "Share of bars (per track) without a note.",
    "pitch_classes_per_bar": "Different pitch classes (C, C♯, …) in a bar that has notes.",
    "qualified_note_rate": "Share of notes at least three steps long (not stray blips).",
    "notes_per_bar": "Notes started per bar and track.",
    "polyphony": "How many notes sound at once, on steps where any sound.",
    "polyphonic_rate": "Share of sounding steps where three or more notes sound together.",
    "pitch_class_entropy": "How evenly the twelve pitch classes are used in a bar (entropy).",
    "scale_consistency": "Share of notes that fit the best-matching major or minor scale.",
    "tonal_distance": "How far apart two tracks are harmonically, bar by bar.",
    "voice_range_rate": "Share of notes inside each voice's range (soprano to bass).",
    "voice_crossing_rate": "Share of moments where a lower voice sounds above a higher one.",
    "parallel_rate": "Share of voice motions in parallel fifths or octaves.",
}


def metric_label(name: str) -> str:
    """The full name of an engine metric, in words."""
    return METRIC_LABELS.get(name, name.replace("_", " ").capitalize())


def tile_label(name: str) -> str:
    """The name a tile shows (short; the full name is in the tooltip)."""
    return SHORT_LABELS.get(name) or metric_label(name)


def format_value(value: float | None) -> str:
    """Five characters or so: what fits beside the data's value in a small tile."""
    if value is None or not math.isfinite(value):
        return "–"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if size < 1 else f"{value:.2f}"


class ElidedLabel(QLabel):
    """One line of plain text that ends in "…" when its column is narrower than the text.

    The full text stays available (`full_text`); the tile's tooltip carries it too."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        # May be narrower than its text (it elides); never wider than its column.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        if text == self._full and self.text() == text:
            return
        self._full = text
        self.updateGeometry()  # the size hint follows the full text
        self._elide()

    @property
    def is_elided(self) -> bool:
        return self.text() != self._full

    def text_width(self) -> int:
        """Pixels the full text needs (glyph advances are fractional: one to spare, or
        `elidedText` may shorten a text that has exactly its rounded width)."""
        return self.fontMetrics().horizontalAdvance(self._full) + 1

    def sizeHint(self) -> QSize:
        # From the full text, so eliding never changes the hint (no layout ping-pong).
        margins = self.contentsMargins()
        return QSize(
            self.text_width() + margins.left() + margins.right(),
            self.fontMetrics().height() + margins.top() + margins.bottom(),
        )

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        if shown != self.text():
            super().setText(shown)


def tile_fonts(base: QFont) -> tuple[QFont, QFont]:
    """The tiles' text font and the bold one of the samples' value."""
    font = QFont(base)
    font.setPointSizeF(TEXT_POINT_SIZE)
    bold = QFont(font)
    bold.setWeight(QFont.Weight.DemiBold)
    return font, bold


def tile_width(base: QFont) -> int:
    """The narrowest tile whose numbers ("0.873  data 0.934") show in full, in the
    fonts actually used (a larger system font gets wider tiles, not cut numbers)."""
    font, bold = tile_fonts(base)
    numbers = (
        QFontMetrics(bold).horizontalAdvance(TYPICAL_VALUE)
        + NUMBER_SPACING
        + QFontMetrics(font).horizontalAdvance(f"data {TYPICAL_VALUE}")
        + 2  # ElidedLabel's spare pixel, twice
    )
    left, _, right, _ = TILE_MARGINS
    return max(TILE_MIN_WIDTH, numbers + ACCENT_WIDTH + left + right)


class QualityTile(QFrame):
    """Name; samples' latest value and the data's value; sparkline against the data."""

    def __init__(self, name: str, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("qualityTile")
        self.name = name
        self.colour = colour
        self.series = GrowingSeries(capacity=64)
        self.latest: float | None = None
        self.latest_step: int | None = None
        self.reference_value: float | None = None
        self.setStyleSheet(
            f"#qualityTile {{ background: {TILE_BACKGROUND};"
            f" border-left: {ACCENT_WIDTH}px solid {colour};"
            " border-top-right-radius: 4px; border-bottom-right-radius: 4px; }"
            "#qualityTile QLabel { background: transparent; }"
        )
        self.setMinimumWidth(tile_width(self.font()))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

        font, bold = tile_fonts(self.font())
        self.title_label = ElidedLabel(tile_label(name))
        self.title_label.setFont(font)
        self.title_label.setStyleSheet(f"color: {FOREGROUND};")
        self.value_label = ElidedLabel(format_value(None))
        self.value_label.setFont(bold)
        self.value_label.setStyleSheet(f"color: {colour};")
        self.data_label = ElidedLabel("")
        self.data_label.setFont(font)
        self.data_label.setStyleSheet(f"color: {MUTED};")
        self.data_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        # A word-sized plot: the curve against the dashed data line is the point, so no
        # axes, no mouse (the wheel scrolls the tiles; the tooltip is the tile's).
        self.spark = pg.PlotWidget(background=TILE_BACKGROUND)
        self.spark.setFixedHeight(SPARK_HEIGHT)
        self.spark.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.spark.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.spark.setFrameShape(QFrame.Shape.NoFrame)
        plot = self.spark.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.layout.setContentsMargins(0, 0, 0, 0)
        plot.getViewBox().setDefaultPadding(0.15)
        self.curve = plot.plot(
            pen=plot_pen(colour, 1.5),
            symbol="o",
            symbolSize=3,
            symbolBrush=colour,
            symbolPen=None,
        )
        self.reference = pg.InfiniteLine(
            angle=0, movable=False, pen=plot_pen(colour, 1.0, 200, dashed=True)
        )
        self.reference.setVisible(False)
        plot.addItem(self.reference, ignoreBounds=False)
        self.curve.setData(x=np.zeros(0), y=np.zeros(0))

        numbers = QHBoxLayout()
        numbers.setContentsMargins(0, 0, 0, 0)
        numbers.setSpacing(NUMBER_SPACING)
        # The samples' value keeps its width; the data's value takes the rest (and is
        # the one that elides, in a column narrower than any tile should be).
        self.value_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        numbers.addWidget(self.value_label)
        numbers.addWidget(self.data_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(*TILE_MARGINS)
        layout.setSpacing(1)
        layout.addWidget(self.title_label)
        layout.addLayout(numbers)
        layout.addWidget(self.spark)
        self._update_tooltip()

    @property
    def text_labels(self) -> tuple[ElidedLabel, ...]:
        return (self.title_label, self.value_label, self.data_label)

    def add(self, step: int, value: float, reference: float | None) -> None:
        self.series.append(float(step), float(value))
        self.latest = float(value)
        self.latest_step = int(step)
        self.value_label.set_full_text(format_value(self.latest))
        if reference is not None and math.isfinite(reference):
            self.reference_value = float(reference)
            self.reference.setValue(self.reference_value)
            self.reference.setVisible(True)
            self.data_label.set_full_text(f"data {format_value(self.reference_value)}")
        self._update_tooltip()

    def refresh(self) -> None:
        x, y, _smooth = self.series.view()
        self.curve.setData(x=x, y=y, connect="finite")

    def point_count(self) -> int:
        x, _ = self.curve.getOriginalDataset()
        return 0 if x is None else len(x)

    def _update_tooltip(self) -> None:
        rows = [f"<b>{html.escape(metric_label(self.name))}</b>"]
        about = DESCRIPTIONS.get(self.name)
        if about:
            rows.append(html.escape(about))
        if self.latest is not None:
            rows.append(
                f"Fresh samples: <b>{self.latest:.4g}</b> (step {self.latest_step:,}, solid line)"
            )
        if self.reference_value is not None:
            rows.append(f"Your data: <b>{self.reference_value:.4g}</b> (dashed line)")
        rows.append("Closer to your data is better.")
        self.setToolTip("<br>".join(rows))


class QualityTiles(QScrollArea):
    """The tiles of a run's quality checks, in as many columns as fit; scrolls when tall."""

    resized = Signal()

    PLACEHOLDER = "Quality checks of fresh samples against your data appear here."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("qualityTiles")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setStyleSheet(
            f"#qualityTiles, #qualityTilesBody {{ background: {BACKGROUND}; border: none; }}"
        )
        body = QWidget()
        body.setObjectName("qualityTilesBody")
        self._grid = QGridLayout(body)
        self._grid.setContentsMargins(SPACING, SPACING, SPACING, SPACING)
        self._grid.setSpacing(SPACING)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._placeholder = QLabel(self.PLACEHOLDER)
        self._placeholder.setWordWrap(True)
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet(f"color: {FOREGROUND}; background: transparent;")
        self._grid.addWidget(self._placeholder, 0, 0)
        self.setWidget(body)
        self.tiles: dict[str, QualityTile] = {}
        self.columns = 0
        self._dirty = False

    # -- data ----------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.tiles)

    def add(self, step: int, generated: Mapping[str, float], reference: Mapping[str, float]):
        for name, value in generated.items():
            ref = reference.get(name)
            self._tile(name).add(step, float(value), None if ref is None else float(ref))
        self._dirty = True

    def refresh(self) -> None:
        if self._dirty:
            self._dirty = False
            for tile in self.tiles.values():
                tile.refresh()

    def clear(self) -> None:
        for tile in self.tiles.values():
            self._grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles.clear()
        self.columns = 0
        self._dirty = False
        self._grid.addWidget(self._placeholder, 0, 0)
        self._placeholder.show()

    # -- layout --------------------------------------------------------------------------
    def columns_for(self, count: int) -> int:
        """As many tiles as fit beside each other at their `tile_width`. Room for the
        scroll bar is kept only when the rows will not fit in the height; the choice is
        made from the view's own size, never the viewport's, so the bar's coming and
        going never re-flows the grid."""
        if count <= 0:
            return 0
        width = tile_width(self.font())
        inner = self.width() - 2 * self.frameWidth() - 2 * SPACING

        def fit(room: int) -> int:
            return max(1, min(count, (room + SPACING) // (width + SPACING)))

        columns = fit(inner)
        rows = math.ceil(count / columns)
        tile_height = next(iter(self.tiles.values())).sizeHint().height() if self.tiles else 0
        needed = rows * tile_height + (rows - 1) * SPACING + 2 * SPACING
        if needed > self.height() - 2 * self.frameWidth():
            columns = fit(inner - self.verticalScrollBar().sizeHint().width())
        return columns

    def arrange(self, force: bool = False) -> None:
        tiles = list(self.tiles.values())
        columns = self.columns_for(len(tiles))
        if not tiles or (columns == self.columns and not force):
            return
        self.columns = columns
        for tile in tiles:
            self._grid.removeWidget(tile)
        for index, tile in enumerate(tiles):
            row, col = divmod(index, columns)
            self._grid.addWidget(tile, row, col)
        for col in range(self._grid.columnCount()):
            self._grid.setColumnStretch(col, 1 if col < columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.arrange()
        self.resized.emit()

    def _tile(self, name: str) -> QualityTile:
        found = self.tiles.get(name)
        if found is not None:
            return found
        if not self.tiles:
            self._placeholder.hide()
            self._grid.removeWidget(self._placeholder)
        tile = QualityTile(name, METRIC_COLOURS[len(self.tiles) % len(METRIC_COLOURS)])
        self.tiles[name] = tile
        self.arrange(force=True)
        return tile
