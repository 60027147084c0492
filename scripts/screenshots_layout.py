"""Screenshots of the whole window at common screen sizes, for the README.

The real app window (as `pianola` builds it: transport, editor, Training and Generation
docks, default layout) with a Bach chorale open and zoomed to fit, grabbed at 1280x720,
1400x860 and 1920x1080 into ``docs/screenshots/window-WxH.png``, and at 1400x860 (the
default size) into ``docs/screenshots/app.png``. Runs offscreen (or under Xvfb)::

    .venv/bin/python scripts/screenshots_layout.py
    QT_SCALE_FACTOR=2 .venv/bin/python scripts/screenshots_layout.py --suffix @2x --no-app

With ``--harmonize``, app.png shows the Generation panel with eight harmonizations of the
soprano by the bundled model (a few minutes on a laptop's CPU). Each window's settings go
to a fresh temporary folder: the composer's own saved layout neither shapes the pictures
nor is overwritten.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CHORALE = "bwv10.7.mid"
SIZES = ((1280, 720), (1400, 860), (1920, 1080))
APP_SIZE = (1400, 860)


def wait(app, condition, timeout_s: float) -> bool:
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return bool(condition())


def settle(app, seconds: float = 0.5) -> None:
    wait(app, lambda: False, seconds)


def isolate_settings() -> None:
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    folder = tempfile.mkdtemp(prefix="pianola-shots-settings-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


def grab_window(app, size: tuple[int, int], out: Path, harmonize: bool) -> bool:
    from studio.paths import bach_dataset_dir
    from studio.ui.app import create_main_window

    isolate_settings()  # each size starts from the default layout, not the last window's
    window = create_main_window()
    window.resize(*size)
    window.show()
    settle(app)  # the default layout is applied once the window is laid out
    if not window.open_path(bach_dataset_dir() / CHORALE, ask=False):
        return False
    panels = window.panels
    panels.generation_dock.raise_()
    window.document.set_active_track(0)
    if harmonize:
        generation = panels.generation
        wait(app, lambda: generation.model is not None, 120)
        generation.set_mode("harmonize")
        generation.variations.setValue(8)
        generation.generate()
        wait(app, lambda: not generation.is_busy and len(generation.results) > 0, 600)
        generation.results.select(0)
    settle(app)
    window.editor.zoom_to_fit()
    settle(app)
    image = window.grab()
    image.save(str(out))
    print(f"saved {out} ({image.width()}x{image.height()} device pixels)")
    window.document.undo_stack.setClean()
    window.close()
    settle(app, 0.2)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--suffix", default="", help="added to each file name, e.g. @2x")
    parser.add_argument("--no-app", action="store_true", help="skip app.png")
    parser.add_argument(
        "--harmonize", action="store_true", help="app.png: eight harmonizations by the model"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from studio.ui.app import create_application

    app = create_application([])
    for width, height in SIZES:
        name = f"window-{width}x{height}{args.suffix}.png"
        if not grab_window(app, (width, height), out / name, harmonize=False):
            return 1
    if not args.no_app and not grab_window(app, APP_SIZE, out / "app.png", args.harmonize):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
