"""Painting note blocks fast: batched QPainter calls, or a numpy raster for dense views.

Like LMMS and Qtractor we paint notes ourselves instead of making one scene item per
note. With few visible notes each gets a bordered rectangle (and a name when there is
room); with thousands visible, per-note Python calls would blow the 16 ms frame budget,
so the notes are rasterised row by row with numpy (run-length "difference" arrays) and
drawn as one stretched image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from studio.core.scales import pitch_name
from studio.core.song import Notes
from studio.ui.editor import theme
from studio.ui.editor.viewport import RollViewport

VECTOR_LIMIT = 800  # above this many visible notes, rasterise
GHOST_VECTOR_LIMIT = 200
MAX_GHOST_CODES = 200  # ghost colours in one raster; with 16 active codes, fits uint8
VELOCITY_LEVELS = 8


def _velocity_level(velocity: np.ndarray) -> np.ndarray:
    return np.minimum(VELOCITY_LEVELS - 1, (velocity.astype(np.int64) * VELOCITY_LEVELS) // 128)


def _palette(colour: QColor, alpha: int | None, selected: bool) -> list[QColor]:
    out = []
    for level in range(VELOCITY_LEVELS):
        c = theme.note_fill(colour, int((level + 0.5) * 128 / VELOCITY_LEVELS), selected)
        if alpha is not None:
            c.setAlpha(alpha)
        out.append(c)
    return out


@dataclass(frozen=True, eq=False)
class Layer:
    """Notes of one track to paint: `rows` index into `notes`; ghosts are faint and flat."""

    notes: Notes
    rows: np.ndarray
    colour: QColor
    ghost: bool = False
    selected: np.ndarray | None = None  # bool mask aligned with rows


def paint_layers(painter: QPainter, view: RollViewport, layers: list[Layer], dpr: float) -> None:
    """Paint ghost layers then the active one. Dense views go through one raster image."""
    layers = [layer for layer in layers if len(layer.rows)]
    if not layers:
        return
    active = sum(len(layer.rows) for layer in layers if not layer.ghost)
    ghosts = sum(len(layer.rows) for layer in layers if layer.ghost)
    if active > VECTOR_LIMIT or (ghosts > GHOST_VECTOR_LIMIT and active > VECTOR_LIMIT // 4):
        _paint_raster(painter, view, layers, dpr)
        return
    dense_ghosts = [layer for layer in layers if layer.ghost] if ghosts > GHOST_VECTOR_LIMIT else []
    if dense_ghosts:
        _paint_raster(painter, view, dense_ghosts, dpr)
    for layer in layers:
        if layer.ghost and dense_ghosts:
            continue
        selected = layer.selected
        if selected is None:
            selected = np.zeros(len(layer.rows), dtype=bool)
        _paint_vector(painter, view, layer.notes, layer.rows, layer.colour, selected, layer.ghost)


def _geometry(view: RollViewport, notes: Notes, rows: np.ndarray):
    ppt = view.px_per_tick
    x0 = (notes.start[rows] - view.left_tick) * ppt
    x1 = x0 + notes.duration[rows] * ppt
    pitch = notes.pitch[rows].astype(np.int64)
    y = (127 - pitch) * view.row_height - view.top_px
    return x0, x1, y, pitch


def _paint_vector(painter, view, notes, rows, colour, selected, ghost) -> None:
    """Few notes: a bordered box per note, batched as solid fills (Qt's fast path)."""
    x0, x1, y, pitch = _geometry(view, notes, rows)
    h = view.row_height
    # Keep coordinates inside a sane range: extreme zoom must not overflow the rasteriser.
    left = np.clip(np.floor(x0), -10, view.width + 10).astype(np.int64)
    right = np.clip(np.floor(x1), -10, view.width + 10).astype(np.int64)
    right = np.maximum(right, left + 2)
    top = np.floor(y).astype(np.int64) + (1 if h >= 6 else 0)
    height = max(1, int(np.floor(h)) - (1 if h >= 6 else 0) - (1 if h >= 4 else 0))
    bordered = not ghost and h >= 5
    levels = _velocity_level(notes.velocity[rows])
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    for is_sel in (False, True) if not ghost else (False,):
        fills = _palette(colour, 70 if ghost else None, is_sel)
        group = selected == is_sel
        if not group.any():
            continue
        if bordered:
            painter.setBrush(theme.SELECTED_BORDER if is_sel else QColor(colour).darker(300))
            painter.drawRects(
                [
                    QRect(a, b, c - a, height)
                    for a, b, c in zip(
                        left[group].tolist(),
                        top[group].tolist(),
                        right[group].tolist(),
                        strict=True,
                    )
                ]
            )
        inset = 1 if bordered else 0
        for level in range(VELOCITY_LEVELS):
            mask = group & (levels == level)
            if not mask.any():
                continue
            painter.setBrush(fills[level])
            painter.drawRects(
                [
                    QRect(
                        a + inset, b + inset, max(1, c - a - 2 * inset), max(1, height - 2 * inset)
                    )
                    for a, b, c in zip(
                        left[mask].tolist(), top[mask].tolist(), right[mask].tolist(), strict=True
                    )
                ]
            )
    # Names inside notes when zoomed in far enough to read them.
    if not ghost and h >= 12 and len(rows) <= 400:
        font = QFont(painter.font())
        font.setPixelSize(int(min(11, h - 4)))
        painter.setFont(font)
        painter.setPen(theme.NOTE_TEXT)
        for k in np.nonzero((right - left) >= 30)[0].tolist():
            painter.drawText(
                QRectF(int(left[k]) + 4, float(y[k]), int(right[k] - left[k]) - 6, h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                pitch_name(int(pitch[k])),
            )
    painter.restore()


def _paint_raster(painter: QPainter, view: RollViewport, layers: list[Layer], dpr: float) -> None:
    """Rasterise all layers into one (pitch rows x device pixels) image, drawn once.

    Each pixel gets a code; a higher code wins where notes overlap: ghost layers get one
    flat code each, the active layer one code per velocity level (and per selection
    state) above them. A palette lookup turns codes into premultiplied ARGB pixels.
    """
    width = max(1, int(np.ceil(view.width * dpr)))
    low, high = view.visible_pitches()
    n_rows = high - low + 1
    if n_rows <= 0:
        return
    ppt = view.px_per_tick * dpr
    lut = [0]
    parts = []  # (x0, x1, row, code, bordered)
    for layer in layers:
        notes, rows = layer.notes, layer.rows
        start = notes.start[rows]
        x0 = np.floor((start - view.left_tick) * ppt).astype(np.int64)
        x1 = np.floor((start + notes.duration[rows] - view.left_tick) * ppt).astype(np.int64)
        x1 = np.clip(np.maximum(x0 + 1, x1), 0, width)
        x0 = np.clip(x0, 0, width)
        row = high - notes.pitch[rows].astype(np.int64)
        inside = (row >= 0) & (row < n_rows) & (x1 > x0)
        base = len(lut)
        if layer.ghost:
            if len(lut) < MAX_GHOST_CODES:
                lut.append(_premultiplied(_palette(layer.colour, 70, False)[VELOCITY_LEVELS // 2]))
            else:  # hundreds of tracks: the rest share one ghost colour (codes fit a byte)
                base = 1
            code = np.full(int(inside.sum()), base, dtype=np.int64)
        else:
            lut.extend(_premultiplied(c) for c in _palette(layer.colour, None, False))
            lut.extend(_premultiplied(c) for c in _palette(layer.colour, None, True))
            level = _velocity_level(notes.velocity[rows][inside])
            selected = layer.selected
            sel = selected[inside] if selected is not None else np.zeros(len(level), dtype=bool)
            code = base + level + np.where(sel, VELOCITY_LEVELS, 0)
        parts.append((x0[inside], x1[inside], row[inside], code, not layer.ghost))
    x0 = np.concatenate([p[0] for p in parts])
    x1 = np.concatenate([p[1] for p in parts])
    row = np.concatenate([p[2] for p in parts])
    code = np.concatenate([p[3] for p in parts])
    image_codes = np.zeros(n_rows * width, dtype=np.uint8)
    widths = x1 - x0
    if int(widths.sum()) <= 4 * n_rows * width:
        # Expand every note into its pixel indices, lowest code first, so that the
        # highest code is written last and wins where notes overlap.
        order = np.argsort(code, kind="stable")
        widths_o = widths[order]
        first = row[order] * width + x0[order]
        before = np.cumsum(widths_o) - widths_o
        pixel = np.arange(int(widths_o.sum())) + np.repeat(first - before, widths_o)
        image_codes[pixel] = np.repeat(code[order].astype(np.uint8), widths_o)
    else:  # very long, heavily overlapping notes: run-length coverage per code instead
        stride = width + 1
        grid = image_codes.reshape(n_rows, width)
        for c in np.unique(code).tolist():
            m = code == c
            diff = np.bincount(row[m] * stride + x0[m], minlength=n_rows * stride) - np.bincount(
                row[m] * stride + x1[m], minlength=n_rows * stride
            )
            covered = np.cumsum(diff.reshape(n_rows, stride), axis=1)[:, :width] > 0
            grid[covered] = np.maximum(grid[covered], c)
    pixels = np.asarray(lut, dtype=np.uint32)[image_codes].reshape(n_rows, width)
    border = _premultiplied(theme.NOTE_BORDER, opaque=True)
    for p_x0, _x1, p_row, _code, bordered in parts:
        if bordered:  # a dark first pixel marks where each active note starts
            edge = p_x0 < width
            pixels[p_row[edge], p_x0[edge]] = border
    image = QImage(pixels.data, width, n_rows, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
    top = view.y_of(high)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.drawImage(QRectF(0, top, view.width, n_rows * view.row_height), image)
    if view.row_height >= 5:  # re-cut the rows so neighbouring pitches read as separate notes
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.ROW_LINE)
        width_px = int(np.ceil(view.width))
        painter.drawRects(
            [
                QRect(0, int(view.y_of(pitch) + view.row_height - 1), width_px, 1)
                for pitch in range(low, high + 1)
            ]
        )
    painter.restore()
    del pixels  # the QImage only borrowed the buffer while drawing


def _premultiplied(colour: QColor, opaque: bool = False) -> int:
    a = 255 if opaque else colour.alpha()
    r, g, b = (int(v * a / 255) for v in (colour.red(), colour.green(), colour.blue()))
    if opaque:
        r, g, b = colour.red() // 3, colour.green() // 3, colour.blue() // 3
    return (a << 24) | (r << 16) | (g << 8) | b
