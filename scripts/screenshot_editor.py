"""Save the editor screenshot for the README: a Bach chorale open in the main window.

Run under a virtual display, e.g.::

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot_editor.py
    QT_SCALE_FACTOR=2 xvfb-run -s "-screen 0 3200x2000x24" \\
        .venv/bin/python scripts/screenshot_editor.py docs/screenshots/editor@2x.png

The scale assist is set to the key that fits the chorale best, so out-of-scale rows show.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.core.scales import SCALES, scale_mask  # noqa: E402
from studio.paths import bach_dataset_dir  # noqa: E402
from studio.ui.app import create_application  # noqa: E402

CHORALE = "bwv10.7.mid"


def best_key(song) -> tuple[int, str]:
    """The major or natural-minor key with the fewest notes outside it."""
    best = (10**9, 0, "Major")
    for scale in ("Major", "Natural minor"):
        for key in range(12):
            mask = scale_mask(key, scale)
            outside = sum(int((~mask[t.notes.pitch.astype(int)]).sum()) for t in song.tracks)
            best = min(best, (outside, key, scale))
    return best[1], best[2]


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots" / "editor.png"
    app = create_application([])
    from studio.ui.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 900)
    window.show()
    if not window.open_path(bach_dataset_dir() / CHORALE, ask=False):
        return 1
    doc, editor = window.document, window.editor
    key, scale = best_key(doc.song)
    assert scale in SCALES
    editor.state.set_scale(key, scale)
    doc.set_active_track(1)  # edit the alto against the other voices
    tpb = doc.song.ticks_per_beat
    editor.view.fit(0, 12 * 4 * tpb, 40, 80)
    notes = doc.active_notes()
    doc.set_selection(notes.ids[(notes.start >= 4 * tpb) & (notes.start < 8 * tpb)])
    doc.set_loop(4 * tpb, 12 * tpb)
    doc.set_playhead(6 * tpb)
    for _ in range(10):
        app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"saved {out} ({window.grab().width()}x{window.grab().height()} device pixels)")
    doc.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
