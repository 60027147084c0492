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
