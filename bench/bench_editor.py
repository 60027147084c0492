"""Editor timings: full repaint with 10,000 visible notes, a scroll step in a 100,000-note
song, and apply + undo of a transpose of 10,000 selected notes (targets from issue 3)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtWidgets import QApplication

from bench.common import Row, best_of
from studio.core import edits
from studio.core.song import Notes, Song, Track, palette_colour

TPB = 480
WIDTH, HEIGHT = 1600, 900


def _random_notes(n: int, span_ticks: int, seed: int) -> Notes:
    rng = np.random.default_rng(seed)
    return Notes(
        rng.integers(36, 96, n),
        rng.integers(0, span_ticks, n),
        rng.integers(TPB // 8, TPB, n),
        rng.integers(40, 127, n),
    )


def _editor(song: Song):
    from studio.ui.document import SongDocument
    from studio.ui.editor import PianoRollEditor

    doc = SongDocument(song)
    editor = PianoRollEditor(doc)
    editor.resize(WIDTH + 300, HEIGHT + 200)
    editor.show()
    QApplication.processEvents()
    return doc, editor


def _full_repaint(editor) -> None:
    editor.canvas.invalidate_background()
    editor.canvas.grab()


def run() -> list[Row]:
    app = QApplication.instance() or QApplication([])
    rows: list[Row] = []

    # 1) A viewport showing 10,000 notes of the active track (plus 3 ghost tracks).
    span = 32 * 4 * TPB
    tracks = [Track("Dense", colour=palette_colour(0), notes=_random_notes(10_000, span, 1))]
    tracks += [
        Track(f"Ghost {k}", colour=palette_colour(k), notes=_random_notes(500, span, k + 2))
        for k in range(1, 4)
    ]
    doc, editor = _editor(Song("bench", TPB, tracks=tracks))
    editor.view.fit(0, span, 36, 96)
    visible = len(doc.song.tracks[0].notes.in_range(*editor.view.visible_ticks()))
    t = best_of(lambda: _full_repaint(editor), repeat=20)
    rows.append(Row("editor", f"full repaint, {visible} notes visible", t * 1e3, "ms", "<= 16"))
    editor.close()

    # 2) Scrolling one wheel step through a 100,000-note song at a working zoom.
    long_span = 2000 * 4 * TPB
    doc, editor = _editor(
        Song("long", TPB, tracks=[Track("Long", notes=_random_notes(100_000, long_span, 5))])
    )
    view = editor.view
    view.px_per_beat = 60.0
    view.scroll_to(left_tick=long_span / 2)
    step = {"sign": 1}

    def scroll_step() -> None:
        step["sign"] = -step["sign"]
        view.scroll_by(dx_px=120 * step["sign"])  # one wheel notch
        editor.canvas.grab()

    t = best_of(scroll_step, repeat=20)
    rows.append(Row("editor", "scroll step, 100,000-note song", t * 1e3, "ms", "<= 16"))
    editor.close()

    # 3) Transpose 10,000 selected notes and undo it, through the document's undo stack.
    doc, editor = _editor(Song("t", TPB, tracks=[Track("T", notes=_random_notes(10_000, span, 7))]))
    doc.select_all()

    def transpose_and_undo() -> None:
        doc.push(edits.Transpose(0, doc.selection, 1))
        doc.undo_stack.undo()

    t = best_of(transpose_and_undo, repeat=7)
    rows.append(Row("editor", "transpose 10,000 selected + undo", t * 1e3, "ms", "<= 100"))
    editor.close()
    app.processEvents()
    return rows
