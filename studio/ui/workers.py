"""Run a Python generator in a QThread and turn what it yields into Qt signals.

The engine's long jobs (training, generation) are plain generators with no Qt in them.
`GeneratorWorker` is the thin bridge, modelled on superqt's ``GeneratorWorker``: a
QObject moved to a registered QThread that steps the generator and emits

``started, yielded, yieldedBatch, returned, errored, finished, paused, resumed, aborted``.

Pause and abort are cooperative: they are checked between two yields, never by killing
the thread. A fast producer (a training step every few milliseconds) must not flood the
GUI thread, so yields that `coalesce` says may be grouped are buffered and delivered as
one ``yieldedBatch(list)`` at most every ``throttle_ms``; every other yield (previews,
checkpoints, ...) is delivered at once through ``yielded``, after the buffer it follows,
so order is kept and nothing is dropped.

`WorkerHandle` lives in the GUI thread, re-emits those signals there (connect to it), and
owns the thread: ``start()``, ``pause()``, ``resume()``, ``abort()`` and
``shutdown()`` (ask, stop, join), so that no QThread is ever destroyed while running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal

from studio.ui.threads import register_thread

DEFAULT_THROTTLE_MS = 80

log = logging.getLogger(__name__)

# Handles whose thread is running are kept alive here: if Python dropped the last
# reference to a running QThread, Qt would abort with "QThread: Destroyed while thread
# is still running".
_live_handles: set[WorkerHandle] = set()


class WorkerAborted(Exception):
    """Raised inside a plain function's ``report`` callback once an abort was asked for."""


class WorkerSignals(QObject):
    """The signal set of a worker and of its handle (superqt's, plus ``yieldedBatch``)."""

    started = Signal()
    yielded = Signal(object)
    yieldedBatch = Signal(list)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()
    paused = Signal()
    resumed = Signal()
    aborted = Signal()


class GeneratorWorker(WorkerSignals):
    """Steps a generator in its thread; emits what it yields. Create via `WorkerHandle`.

    ``func`` may also be a plain function that reports progress through a callback (an
    engine call such as a dataset scan): with ``report_arg="progress"`` it is called with
    ``progress=report``; each ``report(value)`` is delivered like a yield, and raises
    `WorkerAborted` inside the function once an abort was asked for.
    """

    def __init__(
        self,
        func: Callable[..., Generator[Any, Any, Any] | Iterator[Any] | Any],
        *args: Any,
        coalesce: Callable[[Any], bool] | None = None,
        throttle_ms: int = DEFAULT_THROTTLE_MS,
        report_arg: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._func = func
        self._report_arg = report_arg
        self._args = args
        self._kwargs = kwargs
        self._coalesce = coalesce
        self._throttle_s = max(0, throttle_ms) / 1000.0
        self._buffer: list[Any] = []
        self._last_flush = 0.0
        # Flags are set from the GUI thread and read in the worker thread.
        self._abort = threading.Event()
        self._pause_wanted = threading.Event()
        self._wake = threading.Condition()
        self._is_paused = False
        self._is_running = False

    # -- control, safe to call from any thread ----------------------------------------
    def request_pause(self) -> None:
        self._pause_wanted.set()

    def request_resume(self) -> None:
        with self._wake:
            self._pause_wanted.clear()
            self._wake.notify_all()

    def request_abort(self) -> None:
        with self._wake:
            self._abort.set()
            self._wake.notify_all()

    @property
    def abort_requested(self) -> bool:
        return self._abort.is_set()

    @property
    def is_paused(self) -> bool:
        return self._is_paused

    @property
    def is_running(self) -> bool:
        return self._is_running

    # -- the work, in the worker thread ----------------------------------------------
    def run(self) -> None:
        self._is_running = True
        self.started.emit()
        try:
            kwargs = dict(self._kwargs)
            if self._report_arg:
                kwargs[self._report_arg] = self._report
            outcome = self._func(*self._args, **kwargs)
            result = self._drive(outcome) if _is_iterator(outcome) else outcome
        except WorkerAborted:
            self._flush()
            self.aborted.emit()
        except Exception as exc:  # the engine's errors reach the GUI, never kill the app
            # The GUI shows one sentence; the traceback goes to the log file.
            log.error("worker %s failed", _name_of(self._func), exc_info=exc)
            self._flush()
            self.errored.emit(exc)
        else:
            self._flush()
            if self._abort.is_set():
                self.aborted.emit()
            else:
                self.returned.emit(result)
        finally:
            self._is_running = False
            self._is_paused = False
            self.finished.emit()

    def _drive(self, gen: Generator[Any, Any, Any] | Iterator[Any]) -> Any:
        while True:
            if self._abort.is_set():
                close = getattr(gen, "close", None)
                if close is not None:
                    close()
                return None
            if self._pause_wanted.is_set():
                self._wait_while_paused()
                continue
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            self._deliver(value)

    def _report(self, *values: Any) -> None:
        if self._abort.is_set():
            raise WorkerAborted
        self._deliver(values[0] if len(values) == 1 else values)

    def _wait_while_paused(self) -> None:
        self._flush()
        self._is_paused = True
        self.paused.emit()
        with self._wake:
            while self._pause_wanted.is_set() and not self._abort.is_set():
                self._wake.wait(0.25)
        self._is_paused = False
        if not self._abort.is_set():
            self.resumed.emit()

    def _deliver(self, value: Any) -> None:
        if self._coalesce is not None and self._coalesce(value):
            self._buffer.append(value)
            if time.monotonic() - self._last_flush >= self._throttle_s:
                self._flush()
            return
        self._flush()
        self.yielded.emit(value)

    def _flush(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self.yieldedBatch.emit(batch)
        self._last_flush = time.monotonic()


def _name_of(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _is_iterator(value: object) -> bool:
    return hasattr(value, "__next__") and hasattr(value, "__iter__")


class WorkerHandle(WorkerSignals):
    """Owns a `GeneratorWorker` and the registered QThread it runs in.

    The handle lives in the GUI thread and re-emits the worker's signals there. Connect
    to the handle's signals, not the worker's: PySide6 runs a plain function or lambda
    connected to a cross-thread signal in the *emitting* thread, which is never what a
    widget wants. ``finished`` is emitted once the thread has really ended (joined).
    """

    def __init__(self, worker: GeneratorWorker, name: str = "pianola-worker") -> None:
        super().__init__()
        self.worker = worker
        self.thread = register_thread(QThread())
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: quit from the worker thread itself, so that a GUI thread blocked in
        # wait() (shutdown) does not have to process a queued quit first.
        worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        # Bound methods of this GUI-thread QObject: queued into the GUI thread.
        worker.started.connect(self._relay_started)
        worker.yielded.connect(self._relay_yielded)
        worker.yieldedBatch.connect(self._relay_batch)
        worker.returned.connect(self._relay_returned)
        worker.errored.connect(self._relay_errored)
        worker.paused.connect(self._relay_paused)
        worker.resumed.connect(self._relay_resumed)
        worker.aborted.connect(self._relay_aborted)
        worker.finished.connect(self._relay_finished)
        self._started = False
        self._finished = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError("a worker can only be started once")
        self._started = True
        _live_handles.add(self)
        self.thread.start()

    @property
    def is_running(self) -> bool:
        return self._started and self.thread.isRunning()

    def pause(self) -> None:
        self.worker.request_pause()

    def resume(self) -> None:
        self.worker.request_resume()

    def abort(self) -> None:
        self.worker.request_abort()

    def join(self, timeout_ms: int = 30000) -> bool:
        """Wait for the thread to end; True when it has."""
        if not self._started:
            return True
        self.thread.quit()  # harmless while the generator runs: run() returns first
        done = self.thread.wait(timeout_ms)
        if done:
            _live_handles.discard(self)
        return done

    def shutdown(self, timeout_ms: int = 30000, stop: Callable[[], None] | None = None) -> bool:
        """Ask the work to stop, then join the thread.

        ``stop`` is a gentler request than abort (e.g. "stop training and save a
        checkpoint"): the generator is resumed and left to finish by itself. Without it
        the generator is aborted at its next yield.
        """
        if stop is not None:
            stop()
            self.worker.request_resume()
        else:
            self.worker.request_abort()
        return self.join(timeout_ms)

    @property
    def is_finished(self) -> bool:
        return self._finished

    # -- relays (GUI thread) -----------------------------------------------------------
    def _relay_started(self) -> None:
        self.started.emit()

    def _relay_yielded(self, value: object) -> None:
        self.yielded.emit(value)

    def _relay_batch(self, values: list) -> None:
        self.yieldedBatch.emit(values)

    def _relay_returned(self, value: object) -> None:
        self.returned.emit(value)

    def _relay_errored(self, error: object) -> None:
        self.errored.emit(error)

    def _relay_paused(self) -> None:
        self.paused.emit()

    def _relay_resumed(self) -> None:
        self.resumed.emit()

    def _relay_aborted(self) -> None:
        self.aborted.emit()

    def _relay_finished(self) -> None:
        # The worker has quit its thread; joining now takes microseconds and guarantees
        # that whoever reacts to ``finished`` sees a stopped thread.
        self.thread.wait(10000)
        _live_handles.discard(self)
        if not self._finished:
            self._finished = True
            self.finished.emit()


def start_generator(
    func: Callable[..., Generator[Any, Any, Any] | Iterator[Any] | Any],
    *args: Any,
    coalesce: Callable[[Any], bool] | None = None,
    throttle_ms: int = DEFAULT_THROTTLE_MS,
    report_arg: str | None = None,
    connect: dict[str, Callable[..., Any]] | None = None,
    name: str = "pianola-worker",
    **kwargs: Any,
) -> WorkerHandle:
    """Create, connect (``{"yielded": slot, ...}`` to the handle) and start a worker."""
    worker = GeneratorWorker(
        func, *args, coalesce=coalesce, throttle_ms=throttle_ms, report_arg=report_arg, **kwargs
    )
    handle = WorkerHandle(worker, name=name)
    for signal_name, slot in (connect or {}).items():
        getattr(handle, signal_name).connect(slot)
    handle.start()
    return handle


def live_handles() -> list[WorkerHandle]:
    return list(_live_handles)
