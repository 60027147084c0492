"""Painting note blocks fast: batched QPainter calls, or a numpy raster for dense views.

Like LMMS and Qtractor we paint notes ourselves instead of making one scene item per
note. With few visible notes each gets a bordered rectangle (and a name when there is
room); with thousands visible, per-note Python calls would blow the 16 ms frame budget,
so the notes are rasterised row by row with numpy (run-length "difference" arrays) and
drawn as one stretched image.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from studio.core.scales import pitch_name
from studio.core.song import Notes
from studio.ui.editor import theme
from studio.ui.editor.viewport import RollViewport

VECTOR_LIMIT = 1500  # above this many visible notes, rasterise
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


def paint_notes(
    painter: QPainter,
    view: RollViewport,
    notes: Notes,
    rows: np.ndarray,
    colour: QColor,
    *,
    selected: np.ndarray | None = None,
    ghost: bool = False,
    dpr: float = 1.0,
) -> None:
    """Paint the notes at `rows` of `notes`. `selected` is a bool mask aligned with rows."""
    if not len(rows):
        return
    if selected is None:
        selected = np.zeros(len(rows), dtype=bool)
    if len(rows) > VECTOR_LIMIT:
        _paint_raster(painter, view, notes, rows, colour, selected, ghost, dpr)
    else:
        _paint_vector(painter, view, notes, rows, colour, selected, ghost)


def _geometry(view: RollViewport, notes: Notes, rows: np.ndarray):
    ppt = view.px_per_tick
    x0 = (notes.start[rows] - view.left_tick) * ppt
    x1 = x0 + notes.duration[rows] * ppt
    pitch = notes.pitch[rows].astype(np.int64)
    y = (127 - pitch) * view.row_height - view.top_px
    return x0, x1, y, pitch


def _paint_vector(painter, view, notes, rows, colour, selected, ghost) -> None:
    x0, x1, y, pitch = _geometry(view, notes, rows)
    h = view.row_height
    w = np.maximum(x1 - x0, 2.0)
    # Keep coordinates inside a sane range: extreme zoom must not overflow the rasteriser.
    left = np.clip(x0, -10.0, view.width + 10.0)
    right = np.clip(x0 + w, -10.0, view.width + 10.0)
    inset = 1.0 if h >= 5 else 0.0
    levels = _velocity_level(notes.velocity[rows])
    fills = {False: _palette(colour, 70 if ghost else None, False)}
    if not ghost:
        fills[True] = _palette(colour, None, True)
    painter.save()
    if ghost:
        painter.setPen(Qt.PenStyle.NoPen)
    for is_sel in (False, True):
        if is_sel and ghost:
            break
        if not ghost:
            border = theme.SELECTED_BORDER if is_sel else theme.NOTE_BORDER
            painter.setPen(border if h >= 5 else Qt.PenStyle.NoPen)
        for level in range(VELOCITY_LEVELS):
            mask = (levels == level) & (selected == is_sel)
            if not mask.any():
                continue
            painter.setBrush(fills[is_sel][level])
            rects = [
                QRectF(a + 0.5, b + inset + 0.5, max(1.0, c - a - 1.0), max(1.0, h - 2 * inset - 1))
                for a, b, c in zip(
                    left[mask].tolist(), y[mask].tolist(), right[mask].tolist(), strict=True
                )
            ]
            painter.drawRects(rects)
    # Names inside notes when zoomed in far enough to read them.
    if not ghost and h >= 12 and len(rows) <= 400:
        font = QFont(painter.font())
        font.setPixelSize(int(min(11, h - 4)))
        painter.setFont(font)
        painter.setPen(theme.NOTE_TEXT)
        wide = np.nonzero((right - left) >= 30)[0]
        for k in wide.tolist():
            painter.drawText(
                QRectF(left[k] + 4, y[k], right[k] - left[k] - 6, h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                pitch_name(int(pitch[k])),
            )
    painter.restore()


def _paint_raster(painter, view, notes, rows, colour, selected, ghost, dpr) -> None:
    """Rasterise notes into a (pitch rows x device pixels) image and stretch it vertically."""
    width = max(1, int(np.ceil(view.width * dpr)))
    low, high = view.visible_pitches()
    n_rows = high - low + 1
    if n_rows <= 0:
        return
    ppt = view.px_per_tick * dpr
    x0 = np.floor((notes.start[rows] - view.left_tick) * ppt).astype(np.int64)
    x1 = np.maximum(
        x0 + 1,
        np.floor((notes.start[rows] + notes.duration[rows] - view.left_tick) * ppt).astype(
            np.int64
        ),
    )
    x0 = np.clip(x0, 0, width)
    x1 = np.clip(x1, 0, width)
    row = high - notes.pitch[rows].astype(np.int64)
    inside = (row >= 0) & (row < n_rows) & (x1 > x0)
    x0, x1, row, sel = x0[inside], x1[inside], row[inside], selected[inside]
    level = _velocity_level(notes.velocity[rows][inside])
    # Priority per pixel: higher code wins. Codes: 1+level (plain), 1+LEVELS+level (selected).
    code = 1 + level + np.where(sel, VELOCITY_LEVELS, 0)
    n_codes = 1 + 2 * VELOCITY_LEVELS
    image_codes = np.zeros((n_rows, width), dtype=np.uint8)
    stride = width + 1
    for c in np.unique(code).tolist():
        m = code == c
        diff = np.bincount(row[m] * stride + x0[m], minlength=n_rows * stride) - np.bincount(
            row[m] * stride + x1[m], minlength=n_rows * stride
        )
        covered = np.cumsum(diff.reshape(n_rows, stride), axis=1)[:, :width] > 0
        np.maximum(image_codes, np.where(covered, c, 0).astype(np.uint8), out=image_codes)
    lut = np.zeros(n_codes + 1, dtype=np.uint32)
    plain = _palette(colour, 70 if ghost else None, False)
    chosen = _palette(colour, None, True)
    for k in range(VELOCITY_LEVELS):
        lut[1 + k] = _premultiplied(plain[k])
        lut[1 + VELOCITY_LEVELS + k] = _premultiplied(chosen[k])
    pixels = lut[image_codes]
    if not ghost:  # a dark first pixel marks where each note starts
        edge = x0 < width
        pixels[row[edge], x0[edge]] = _premultiplied(theme.NOTE_BORDER, opaque=True)
    pixels = np.ascontiguousarray(pixels)
    image = QImage(pixels.data, width, n_rows, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
    top = view.y_of(high)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.drawImage(QRectF(0, top, view.width, n_rows * view.row_height), image)
    painter.restore()
    del pixels  # the QImage only borrowed the buffer while drawing


def _premultiplied(colour: QColor, opaque: bool = False) -> int:
    a = 255 if opaque else colour.alpha()
    r, g, b = (int(v * a / 255) for v in (colour.red(), colour.green(), colour.blue()))
    if opaque:
        r, g, b = colour.red() // 3, colour.green() // 3, colour.blue() // 3
    return (a << 24) | (r << 16) | (g << 8) | b
