"""GUI responsiveness while the `default` model trains on the CPU.

A 10 ms QTimer probe runs on the GUI thread of a shown Training panel while the panel
trains `default` on the bundled Bach chorales; each tick's lateness (actual interval
minus 10 ms) is an event-loop stall. Reported: p50, p99 and max stall, plus the same
probe on an idle event loop (the machine's own noise floor) and the training speed.

Duration: ``PIANOLA_BENCH_GUI_SECONDS`` (default 60) or ``--seconds``:

    python -m bench.bench_gui --seconds 60
    python -m bench.run gui
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.common import Row

PROBE_MS = 10
TARGET_P99_MS = 33.0
TARGET_MAX_MS = 100.0


def _seconds_from_env(default: float = 60.0) -> float:
    try:
        return float(os.environ.get("PIANOLA_BENCH_GUI_SECONDS", default))
    except ValueError:
        return default


def probe(app, seconds: float) -> np.ndarray:
    """Stalls (ms) of a 10 ms precise timer over ``seconds`` of the running event loop."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    stamps: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(PROBE_MS)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    intervals = np.diff(np.asarray(stamps)) * 1000.0
    return np.maximum(intervals - PROBE_MS, 0.0)


def _wait(app, condition, timeout_s: float) -> bool:
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return bool(condition())


def measure(seconds: float, preset: str = "default") -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from studio.ui.panels.training_panel import TrainingPanel

    runs = tempfile.mkdtemp(prefix="pianola-bench-gui-")
    panel = TrainingPanel()
    panel.resize(1400, 800)
    panel.settings_form.set_values(
        preset=preset,
        steps=1_000_000,
        preview_every=25,
        metrics_every=100,
        checkpoint_every=1_000_000,
        device="cpu",
        runs_folder=runs,
    )
    panel.data_box.use_bach()
    panel.show()
    if not _wait(app, lambda: panel.data_box.scan_result is not None, 600):
        raise RuntimeError("the bundled Bach chorales could not be scanned")

    idle = probe(app, min(5.0, seconds))
    if not panel.start():
        raise RuntimeError(panel.message.text or "training did not start")
    # Measure while training really runs (the model is built and steps are coming).
    if not _wait(app, lambda: panel.plots.point_count >= 3, 600):
        panel.stop_and_wait()
        raise RuntimeError(panel.message.text or "no training steps")
    first_step = panel.plots.point_count
    t0 = time.perf_counter()
    busy = probe(app, seconds)
    elapsed = time.perf_counter() - t0
    steps = panel.plots.point_count - first_step
    previews = len(panel.previews)
    panel.stop_and_wait()
    panel.close()
    app.processEvents()
    return {
        "idle_p50": float(np.percentile(idle, 50)),
        "idle_p99": float(np.percentile(idle, 99)),
        "idle_max": float(idle.max()),
        "p50": float(np.percentile(busy, 50)),
        "p99": float(np.percentile(busy, 99)),
        "max": float(busy.max()),
        "ticks": float(len(busy)),
        "steps_per_s": steps / elapsed,
        "previews": float(previews),
        "seconds": elapsed,
        "threads": float(panel.settings_form.config("", "").threads),
    }


def run() -> list[Row]:
    seconds = _seconds_from_env()
    m = measure(seconds)
    note = (
        f"{m['seconds']:.0f} s of `default` training on CPU, torch threads {m['threads']:.0f}, "
        f"{m['ticks']:.0f} probe ticks"
    )
    return [
        Row("gui", "event-loop stall p50 (training)", m["p50"], "ms", "", note),
        Row("gui", "event-loop stall p99 (training)", m["p99"], "ms", "< 33", note),
        Row("gui", "event-loop stall max (training)", m["max"], "ms", "< 100", note),
        Row("gui", "event-loop stall p99 (idle)", m["idle_p99"], "ms", "", "noise floor"),
        Row("gui", "event-loop stall max (idle)", m["idle_max"], "ms", "", "noise floor"),
        Row("gui", "training speed while measured", m["steps_per_s"], "steps/s", "", ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=_seconds_from_env())
    parser.add_argument("--preset", default="default")
    args = parser.parse_args(argv)
    m = measure(args.seconds, args.preset)
    print(
        f"training ({args.preset}, {m['seconds']:.0f} s, {m['steps_per_s']:.2f} steps/s, "
        f"torch threads {m['threads']:.0f}): stall p50 {m['p50']:.1f} ms · "
        f"p99 {m['p99']:.1f} ms · max {m['max']:.1f} ms  (targets p99 < {TARGET_P99_MS:.0f}, "
        f"max < {TARGET_MAX_MS:.0f})"
    )
    print(
        f"idle event loop: p50 {m['idle_p50']:.1f} ms · p99 {m['idle_p99']:.1f} ms · "
        f"max {m['idle_max']:.1f} ms"
    )
    ok = m["p99"] < TARGET_P99_MS and m["max"] < TARGET_MAX_MS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
