"""CPU scheduling inside one process: a generation job goes first, training waits.

The app trains (Training panel) and generates (Generation panel) in two threads of the
same process. On a small CPU the two fight for the cores, and a request a composer waits
for runs several times slower. The process-wide `ARBITER` settles it:

* the generation service wraps its work in ``with generation_priority():``: the job is
  counted as running, and its thread uses as many intra-op threads as there are idle
  cores (`generation_threads`; its own count is restored afterwards, also when the job
  fails or is cancelled);
* the training loop calls ``wait_for_generation(stop)`` between steps (never inside
  one, so no step is lost and a resumed run stays bit-identical): it blocks while a
  job runs, and for a short grace period after one ends, so the next stage of the same
  request (draft, then refined; the next batch) does not let a whole training step in.
  ``stop()`` is polled, so Stop and Pause still answer while training waits.

Torch's thread count is per thread (each thread keeps its own OpenMP setting; a new
thread starts from the last value set anywhere), so generation's count never changes the
training thread's. Without a generation job nothing here does anything: the CLI, which
trains in its own process, is unaffected. No Qt.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import torch

GRACE_S = 0.3  # training resumes only after generation has been idle this long
POLL_S = 0.05  # how often a waiting trainer asks its stop flag


def cpu_threads() -> int:
    """Cores this process may run on (its affinity, where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def idle_cores(samples: int = 3) -> int | None:
    """Cores no other runnable task wants right now (Linux: the run queue length in
    /proc/loadavg, this reader excluded; the median of a few quick looks), else None."""
    counts = []
    for k in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as f:
                counts.append(int(f.read().split()[3].split("/")[0]))
        except (OSError, ValueError, IndexError):
            return None
        if k + 1 < samples:
            time.sleep(0.001)
    others = sorted(counts)[len(counts) // 2] - 1
    return max(0, cpu_threads() - others)


def generation_threads() -> int:
    """Intra-op threads for a generation job: the cores that are idle (training in this
    process waits meanwhile), at least one. Not more: torch's OpenMP threads spin at
    their barriers, so two threads sharing a core with another busy task run 5x slower
    than one (measured on 2 cores). ``PIANOLA_GENERATION_THREADS`` sets the number."""
    try:
        wanted = int(os.environ.get("PIANOLA_GENERATION_THREADS", "0"))
    except ValueError:
        wanted = 0
    if wanted > 0:
        return wanted
    idle = idle_cores()
    return cpu_threads() if idle is None else max(1, idle)


class ComputeArbiter:
    """Counts running generation jobs; lets a trainer wait for them between steps."""

    def __init__(self, grace: float = GRACE_S) -> None:
        self.grace = grace
        self._cond = threading.Condition()
        self._active = 0
        self._last_end = float("-inf")  # time.monotonic() when the last job ended
        self._waiting = 0  # trainers blocked in wait_for_generation
        self.enabled = True  # False: no effect at all (benchmarks compare both)
        self.last_threads = 0  # intra-op threads the latest job used

    @property
    def generation_running(self) -> bool:
        """A job runs, or one ended less than ``grace`` seconds ago."""
        with self._cond:
            return self._busy()

    @property
    def jobs(self) -> int:
        """Generation jobs running now."""
        with self._cond:
            return self._active

    @property
    def waiting(self) -> int:
        """Training loops now blocked in `wait_for_generation`."""
        with self._cond:
            return self._waiting

    def _busy(self) -> bool:
        if not self.enabled:
            return False
        return self._active > 0 or time.monotonic() - self._last_end < self.grace

    @contextmanager
    def generation_priority(self, threads: int | None = None) -> Iterator[None]:
        """Run the body as a generation job: training waits, and this thread uses
        ``threads`` intra-op threads (default: `generation_threads`)."""
        if not self.enabled:  # benchmarks: what the app did before the arbiter
            yield
            return
        with self._cond:
            self._active += 1
        before = torch.get_num_threads()
        try:
            self.last_threads = threads or generation_threads()
            torch.set_num_threads(self.last_threads)
            yield
        finally:
            torch.set_num_threads(before)
            with self._cond:
                self._active -= 1
                self._last_end = time.monotonic()
                self._cond.notify_all()

    def wait_for_generation(self, stop: Callable[[], bool] | None = None) -> float:
        """Block while a generation job runs (see `generation_running`); return the
        seconds waited. Returns at once when ``stop()`` answers True (polled every
        `POLL_S`) or when `wake` is called with it set."""
        t0 = time.monotonic()
        with self._cond:
            self._waiting += 1
            try:
                while self._busy() and not (stop is not None and stop()):
                    left = self.grace - (time.monotonic() - self._last_end)
                    timeout = POLL_S if self._active or left <= 0 else min(POLL_S, left)
                    self._cond.wait(timeout)
            finally:
                self._waiting -= 1
        return time.monotonic() - t0

    def wake(self) -> None:
        """Make waiting trainers look at their stop flags now."""
        with self._cond:
            self._cond.notify_all()


ARBITER = ComputeArbiter()


def generation_priority(threads: int | None = None) -> AbstractContextManager[None]:
    """``with generation_priority():`` around generation work (see `ComputeArbiter`)."""
    return ARBITER.generation_priority(threads)


def wait_for_generation(stop: Callable[[], bool] | None = None) -> float:
    """Called by a training loop between steps (see `ComputeArbiter`)."""
    return ARBITER.wait_for_generation(stop)


def generation_running() -> bool:
    """True while a generation job of this process runs (or has just ended)."""
    return ARBITER.generation_running
