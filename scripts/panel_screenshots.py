"""Screenshots of the Training and Generation panels for the README.

Runs the real main window (under Xvfb, or offscreen), trains `tiny` on the bundled Bach
chorales from the Training panel for a while, grabs the window mid-training, then
generates from the saved checkpoint in the Generation panel and grabs it again:

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python scripts/panel_screenshots.py

``--generation-only`` skips the training and harmonizes with the bundled model at the
panel's default settings (what a new user gets); ``--training-only`` stops after the
Training picture. Settings go to a temporary folder, so this machine's remembered
settings neither leak into the pictures nor are changed by them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def wait(app, condition, timeout_s: float) -> bool:
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return bool(condition())


def train_and_grab(app, window, panels, out: Path, steps: int) -> int:
    """Train `tiny` from the Training panel, grab the window mid-training, then stop."""
    training = panels.training
    panels.training_dock.raise_()
    training.settings_form.set_values(
        preset="tiny",
        steps=5000,
        batch_size=16,
        preview_every=50,
        metrics_every=50,
        checkpoint_every=200,
        runs_folder=tempfile.mkdtemp(prefix="pianola-shots-"),
    )
    training.data_box.use_bach()
    if not wait(app, lambda: training.data_box.scan_result is not None, 900):
        print("scan failed:", training.data_box._message.text)
        return 1
    training.start()
    if not wait(app, lambda: training.plots.point_count >= steps, 1800):
        print("training did not get far enough:", training.message.text)
        training.stop_and_wait()
        return 1
    training.previews.select(len(training.previews) - 1)
    wait(app, lambda: False, 1.0)
    window.grab().save(str(out / "training.png"))
    print("saved", out / "training.png")

    with_finish = []
    training.trainingFinished.connect(with_finish.append)
    training.stop()
    wait(app, lambda: bool(with_finish), 300)

    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--steps", type=int, default=400, help="steps before the screenshot")
    parser.add_argument("--generation-only", action="store_true", help="bundled model, no training")
    parser.add_argument("--training-only", action="store_true", help="only training.png")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, Qt

    from studio.core.midi_io import load_midi
    from studio.ui.app import create_application

    app = create_application([])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="pianola-")
    )
    from studio.ui.main_window import MainWindow
    from studio.ui.panels import attach_panels

    window = MainWindow()
    panels = attach_panels(window)
    window.resize(1600, 1000)
    window.show()
    docks = [panels.training_dock, panels.generation_dock]
    window.resizeDocks(docks, [600, 600], Qt.Orientation.Vertical)

    # A melody to work with in the editor (the soprano of a chorale).
    chorale = load_midi(ROOT / "resources" / "datasets" / "bach_chorales" / "bwv10.7.mid")
    song = chorale.copy()
    song.title = "Chorale sketch"
    window.document.set_song(song)
    window.editor.zoom_to_fit()

    if not args.generation_only:
        status = train_and_grab(app, window, panels, out, args.steps)
        if status or args.training_only:
            window.document.set_song(window.document.song)
            window.close()
            return status

    generation = panels.generation
    panels.generation_dock.raise_()
    wait(app, lambda: generation.model is not None, 120)
    generation.set_mode("harmonize")
    generation.variations.setValue(8)
    # This machine's remembered settings must not leak into the README's picture.
    generation.temperature.setValue(0.8 if not args.generation_only else 0.0)
    generation.refine.setValue(generation.refine.minimum())  # the model's own reading
    generation.voice_rules.setChecked(True)
    window.document.set_active_track(0)
    generation.generate()
    wait(app, lambda: not generation.is_busy and len(generation.results) > 0, 300)
    generation.results.select(0)
    generation.insert_selected()
    wait(app, lambda: False, 1.0)
    window.grab().save(str(out / "generation.png"))
    print("saved", out / "generation.png")
    window.document.set_song(window.document.song)  # nothing unsaved to ask about
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
