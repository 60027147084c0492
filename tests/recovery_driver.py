"""Drive the real app (``run_app``) in a subprocess for the crash-recovery test.

``python tests/recovery_driver.py edit`` starts Pianola, adds notes like a composer, and
prints ``AUTOSAVED <path>`` once the autosave has written them; then it keeps running
until the test kills it. ``python tests/recovery_driver.py restore`` starts Pianola again,
clicks *Restore* in the prompt that should appear, prints what it restored as JSON, then
closes the window (discarding) and quits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.core import edits
from studio.core.song import Notes
from studio.ui.app import create_application, run_app


def main_window():
    from studio.ui.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and widget.isVisible():
            return widget
    return None


def edit() -> None:
    state = {"edits": 0, "last_edit": 0.0}

    def tick() -> None:
        window = main_window()
        if window is None or window.autosaver is None:
            return
        if state["edits"] < 12:  # twelve separate edits, like clicks in the editor
            k = state["edits"]
            window.document.push(edits.AddNotes(0, Notes([60 + k], [k * 240], [240])))
            state["edits"] += 1
            state["last_edit"] = time.time()
            return
        path = window.autosaver.recovery_path
        saved = window.autosaver.last_saved
        if saved is not None and saved > state["last_edit"] and path.is_file():
            print(f"AUTOSAVED {path}", flush=True)
            timer.stop()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    run_app([])


def restore() -> None:
    seen: dict[str, object] = {}

    def tick() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and "restore" not in seen:
            seen["restore"] = box.informativeText()
            next(b for b in box.buttons() if b.text() == "Restore").click()
            return
        window = main_window()
        if window is None or "restore" not in seen or "song" in seen:
            return
        doc = window.document
        seen["song"] = {
            "notes": doc.song.tracks[0].notes.pitch.tolist(),
            "modified": doc.modified,
            "path": doc.path,
            "copy": str(window.autosaver.recovery_path),
            "copy_exists": window.autosaver.recovery_path.is_file(),
        }
        print(json.dumps(seen), flush=True)
        QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Discard
        window.close()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    sys.exit(run_app([]))


if __name__ == "__main__":
    create_application([])  # timers need the application before run_app reuses it
    {"edit": edit, "restore": restore}[sys.argv[1]]()
