"""The generator worker: signals, throttled batches, pause/resume/abort, clean shutdown."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from studio.ui.threads import running_threads
from studio.ui.workers import GeneratorWorker, WorkerHandle, start_generator


@dataclass
class Step:
    n: int


@dataclass
class Checkpoint:
    n: int


def counting(n: int, delay: float = 0.0, every: int = 0):
    for k in range(n):
        if delay:
            time.sleep(delay)
        yield Step(k)
        if every and k % every == every - 1:
            yield Checkpoint(k)
    return "done"


def is_step(value: object) -> bool:
    return isinstance(value, Step)


class Recorder:
    def __init__(self) -> None:
        self.singles: list[object] = []
        self.batches: list[list[object]] = []
        self.order: list[object] = []

    def single(self, value: object) -> None:
        self.singles.append(value)
        self.order.append(value)

    def batch(self, values: list[object]) -> None:
        self.batches.append(values)
        self.order.extend(values)


def test_signals_in_order_and_returned_value(qtbot):
    worker = GeneratorWorker(counting, 5)
    handle = WorkerHandle(worker)
    rec = Recorder()
    returned: list[object] = []
    handle.yielded.connect(rec.single)
    handle.returned.connect(returned.append)
    with qtbot.waitSignals(
        [handle.started, handle.returned, handle.finished], order="strict", timeout=5000
    ):
        handle.start()
    assert returned == ["done"]
    qtbot.waitUntil(lambda: not handle.is_running, timeout=5000)
    assert [s.n for s in rec.singles] == [0, 1, 2, 3, 4]


def test_coalesced_steps_come_in_batches_and_urgent_values_are_never_dropped(qtbot):
    rec = Recorder()
    worker = GeneratorWorker(counting, 300, 0.001, 50, coalesce=is_step, throttle_ms=60)
    handle = WorkerHandle(worker)
    handle.yielded.connect(rec.single)
    handle.yieldedBatch.connect(rec.batch)
    with qtbot.waitSignal(handle.finished, timeout=10000):
        handle.start()
    handle.join()
    # Every step arrives exactly once and in order, but far fewer signals than steps.
    steps = [v.n for v in rec.order if isinstance(v, Step)]
    assert steps == list(range(300))
    assert len(rec.batches) < 100
    # All six checkpoints arrive singly, each after the step that preceded it.
    assert [c.n for c in rec.singles] == [49, 99, 149, 199, 249, 299]
    for c in rec.singles:
        position = rec.order.index(c)
        assert rec.order[position - 1] == Step(c.n)


def test_errors_are_reported_not_raised(qtbot):
    def broken():
        yield 1
        raise FloatingPointError("loss became NaN at step 2")

    worker = GeneratorWorker(broken)
    handle = WorkerHandle(worker)
    with qtbot.waitSignal(handle.errored, timeout=5000) as blocker:
        handle.start()
    assert isinstance(blocker.args[0], FloatingPointError)
    assert "NaN" in str(blocker.args[0])
    assert handle.join()


def test_pause_resume_and_abort_between_yields(qtbot):
    gate = threading.Event()
    produced: list[int] = []

    def slow():
        for k in range(10_000):
            produced.append(k)
            gate.wait(0.002)
            yield k

    worker = GeneratorWorker(slow)
    handle = WorkerHandle(worker)
    with qtbot.waitSignal(handle.started, timeout=5000):
        handle.start()
    with qtbot.waitSignal(handle.paused, timeout=5000):
        handle.pause()
    assert handle.worker.is_paused
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) == count  # nothing runs while paused
    with qtbot.waitSignal(handle.resumed, timeout=5000):
        handle.resume()
    qtbot.waitUntil(lambda: len(produced) > count + 3, timeout=5000)
    with qtbot.waitSignals([handle.aborted, handle.finished], timeout=5000):
        handle.abort()
    assert handle.join()
    assert len(produced) < 10_000
    assert running_threads() == []


def test_shutdown_while_paused_with_gentle_stop_lets_the_generator_finish(qtbot):
    stop = threading.Event()
    saved: list[str] = []

    def trainer():
        k = 0
        while not stop.is_set():
            k += 1
            time.sleep(0.002)
            yield k
        saved.append("checkpoint")
        yield "saved"

    rec = Recorder()
    worker = GeneratorWorker(trainer)
    handle = WorkerHandle(worker)
    handle.yielded.connect(rec.single)
    with qtbot.waitSignal(handle.paused, timeout=5000):
        handle.start()
        handle.pause()
    # The GUI thread blocks in shutdown: nothing queued may be needed to end the thread.
    assert handle.shutdown(timeout_ms=5000, stop=stop.set)
    assert saved == ["checkpoint"]
    assert not handle.is_running
    qtbot.waitUntil(lambda: "saved" in rec.singles, timeout=5000)


def test_start_generator_helper_connects_and_a_handle_starts_once(qtbot):
    got: list[object] = []
    handle = start_generator(counting, 3, connect={"yielded": got.append})
    qtbot.waitUntil(lambda: len(got) == 3, timeout=5000)
    assert handle.join()
    assert [s.n for s in got] == [0, 1, 2]
    with pytest.raises(RuntimeError):
        handle.start()


def test_signal_emit_keeps_reference_counts_intact():
    """PySide6 6.12.0 dropped a reference to True on every emit; on Python 3.11 the
    process then dies with "bool_dealloc" after a few hundred signals. Guard it."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        ping = Signal(object)

    emitter = Emitter()
    before = sys.getrefcount(True)
    for k in range(200):
        emitter.ping.emit(k)
    assert sys.getrefcount(True) - before >= -5


def test_plain_function_reports_progress_and_returns(qtbot):
    def scan(n: int, progress):
        for k in range(n):
            progress(k + 1, n)
        return {"files": n}

    got: list[object] = []
    returned: list[object] = []
    handle = start_generator(
        scan, 5, report_arg="progress", connect={"yielded": got.append, "returned": returned.append}
    )
    qtbot.waitUntil(lambda: bool(returned), timeout=5000)
    assert returned == [{"files": 5}]
    assert got == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    qtbot.waitUntil(lambda: handle.is_finished, timeout=5000)


def test_plain_function_is_aborted_at_its_next_report(qtbot):
    release = threading.Event()

    def scan(progress):
        for k in range(1000):
            release.wait(0.01)
            progress(k)
        return "complete"

    handle = start_generator(scan, report_arg="progress")
    with qtbot.waitSignals([handle.aborted, handle.finished], timeout=5000):
        handle.abort()
    assert not handle.is_running


# ----------------------------------------------------------------------------- opening files
def slow_reader(path, progress=None, cancel=None):
    """A reader that takes ~2 s, reports progress and honours cancel like the real ones."""
    from studio.core.import_report import LoadCancelled
    from studio.core.project import Project
    from studio.core.song import Song

    for k in range(100):
        if cancel is not None and cancel():
            raise LoadCancelled(path)
        if progress is not None:
            progress(k / 100)
        time.sleep(0.02)
    return Project(Song("slow"))


def test_opening_keeps_the_gui_responsive_shows_progress_and_reads_the_file(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QProgressDialog

    from studio.ui.file_loader import open_song_file

    ticks = {"n": 0, "progress": []}

    def tick() -> None:  # runs only if the GUI thread keeps processing events
        ticks["n"] += 1
        dialog = next(
            (w for w in __import__("PySide6.QtWidgets").QtWidgets.QApplication.topLevelWidgets()
             if isinstance(w, QProgressDialog) and w.isVisible()), None)  # fmt: skip
        if dialog is not None:
            ticks["progress"].append(dialog.value())

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    result = open_song_file(None, "song.mid", loader=slow_reader, show_after_ms=0)
    timer.stop()
    assert result.project is not None and result.project.song.title == "slow"
    assert not result.cancelled and result.error is None
    assert ticks["n"] >= 10  # about 2 s of reading, the event loop ran throughout
    assert max(ticks["progress"]) > 500  # the bar moved (0..1000)
    qtbot.waitUntil(lambda: not running_threads(), timeout=2000)


def test_cancel_stops_the_reader_and_keeps_nothing(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton

    from studio.ui.file_loader import open_song_file

    def press_cancel() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QProgressDialog) and widget.isVisible():
                button = next(b for b in widget.findChildren(QPushButton) if b.text() == "Cancel")
                button.click()  # what the composer does

    QTimer.singleShot(300, press_cancel)
    t0 = time.monotonic()
    result = open_song_file(None, "song.mid", loader=slow_reader, show_after_ms=0)
    assert result.cancelled and result.project is None and result.error is None
    assert time.monotonic() - t0 < 1.5
    qtbot.waitUntil(lambda: not running_threads(), timeout=2000)  # the reader stopped


def test_main_window_opens_midi_in_a_worker_and_reports_errors(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from studio.core.midi_io import save_midi
    from studio.core.song import Notes, Song, Track
    from studio.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    path = tmp_path / "a.mid"
    save_midi(Song("A", tracks=[Track("t", notes=Notes([60, 62], [0, 480], [480, 480]))]), path)
    names: list[str] = []
    real = __import__("studio.ui.file_loader", fromlist=["x"]).start_generator

    def spy(*args, **kwargs):
        names.append(kwargs.get("name", ""))
        return real(*args, **kwargs)

    monkeypatch.setattr("studio.ui.file_loader.start_generator", spy)
    assert window.open_path(path, ask=False)
    assert names == ["pianola-open-file"]
    assert window.document.song.tracks[0].notes.pitch.tolist() == [60, 62]
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _p, _t, text: shown.append(text))
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00")
    assert not window.open_path(tmp_path / "bad.mid", ask=False)
    assert "bad.mid" in shown[0]
    assert window.document.song.tracks[0].notes.pitch.tolist() == [60, 62]
