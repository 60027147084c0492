"""Training and generation in one process: a generation job has the CPU, training waits
between steps and carries on after, with no step lost (studio.ml.compute)."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pytest
import torch
from ml_helpers import tiny_config

from studio.ml import compute
from studio.ml.generation import GenerationCancelled, GenerationRequest, run
from studio.ml.train import Finished, StepMetrics, TrainControl, train

STEPS = 10
WAIT_S = 30.0  # generous: the shared test machine may be busy


def wait_until(condition, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class TrainingThread:
    """`train` driven from a thread, as the Training panel's worker does."""

    def __init__(self, config, control: TrainControl | None = None) -> None:
        self.control = control or TrainControl()
        self.steps: list[StepMetrics] = []
        self.finished: Finished | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self.thread.start()

    def _run(self, config) -> None:
        try:
            for event in train(config, self.control):
                if isinstance(event, StepMetrics):
                    self.steps.append(event)
                elif isinstance(event, Finished):
                    self.finished = event
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self) -> None:
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "training did not finish"
        if self.error is not None:
            raise self.error


def losses(steps: list[StepMetrics]) -> list[tuple[float, float]]:
    return [(s.g_loss, s.d_loss) for s in steps]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_training_waits_between_steps_for_a_generation_job_and_loses_no_step(
    chorales: Path, cache_dir: Path, tmp_path: Path
) -> None:
    reference = TrainingThread(tiny_config(chorales, tmp_path / "plain", cache_dir, steps=STEPS))
    reference.join()

    run_ = TrainingThread(tiny_config(chorales, tmp_path / "shared", cache_dir, steps=STEPS))
    wait_until(lambda: len(run_.steps) >= 2 or run_.finished is not None)
    with compute.generation_priority(threads=1):
        wait_until(lambda: compute.ARBITER.waiting == 1)  # the step in flight has ended
        held_at = len(run_.steps)
        time.sleep(0.3)
        assert len(run_.steps) == held_at  # no step while the job runs
        assert compute.generation_running()
    run_.join()

    assert held_at < STEPS
    assert [s.step for s in run_.steps] == list(range(1, STEPS + 1))
    assert all(math.isfinite(g) and math.isfinite(d) for g, d in losses(run_.steps))
    # Waiting changes nothing: the same losses as a run nobody interrupted.
    assert losses(run_.steps) == losses(reference.steps)
    assert run_.finished is not None and run_.finished.reason == "completed"


def test_training_resumes_after_a_failing_or_cancelled_generation(
    chorales: Path, cache_dir: Path, tmp_path: Path, tiny_run: Path
) -> None:
    run_ = TrainingThread(tiny_config(chorales, tmp_path / "run", cache_dir, steps=500))
    wait_until(lambda: len(run_.steps) >= 1)

    def cancel_once_training_waits() -> bool:
        if not compute.ARBITER.jobs:  # the check before the job starts
            return False
        wait_until(lambda: compute.ARBITER.waiting == 1)  # training is blocked on this job
        return True

    request = GenerationRequest("generate", model=str(tiny_run), bars=2, variations=2)
    with pytest.raises(GenerationCancelled):
        for _ in run(request, cancel=cancel_once_training_waits):
            pass
    assert torch.get_num_threads() == 1  # the job's thread count is restored

    def broken_progress(fraction: float, text: str) -> None:
        wait_until(lambda: compute.ARBITER.waiting == 1)
        raise RuntimeError("the panel went away")

    with pytest.raises(RuntimeError):
        for _ in run(request, progress=broken_progress):
            pass
    assert torch.get_num_threads() == 1

    released_at = len(run_.steps)
    wait_until(lambda: len(run_.steps) >= released_at + 2)  # both jobs let go: it trains on
    run_.control.request_stop()
    run_.join()
    assert [s.step for s in run_.steps] == list(range(1, len(run_.steps) + 1))
    assert not compute.ARBITER.jobs and compute.ARBITER.waiting == 0


def test_stop_and_pause_answer_while_training_waits_for_generation(
    chorales: Path, cache_dir: Path, tmp_path: Path
) -> None:
    run_ = TrainingThread(tiny_config(chorales, tmp_path / "run", cache_dir, steps=50))
    with compute.generation_priority(threads=1):
        wait_until(lambda: compute.ARBITER.waiting == 1)
        # Pause while waiting: after the job training stays paused, not stepping.
        run_.control.request_pause()
    time.sleep(compute.GRACE_S + 0.3)
    paused_at = len(run_.steps)
    time.sleep(0.3)
    assert len(run_.steps) == paused_at
    run_.control.request_resume()
    wait_until(lambda: len(run_.steps) > paused_at)

    with compute.generation_priority(threads=1):
        wait_until(lambda: compute.ARBITER.waiting == 1)
        stopped_at = time.monotonic()
        run_.control.request_stop()
        wait_until(lambda: run_.finished is not None)
        waited = time.monotonic() - stopped_at
        assert compute.generation_running()  # the job still runs: stop did not wait for it
    run_.join()
    assert run_.finished is not None and run_.finished.reason == "stopped"
    assert waited < 2.0  # the poll answers within POLL_S; saving the tiny run takes the rest
    assert [s.step for s in run_.steps] == list(range(1, len(run_.steps) + 1))


def test_a_job_ends_a_short_grace_later_so_its_next_stage_keeps_the_cpu() -> None:
    arbiter = compute.ComputeArbiter(grace=0.2)
    with arbiter.generation_priority(threads=1):
        assert arbiter.generation_running
    assert arbiter.generation_running  # the draft has just ended: the refined pass follows
    t0 = time.monotonic()
    arbiter.wait_for_generation()
    assert 0.1 < time.monotonic() - t0 < 2.0
    assert not arbiter.generation_running
    arbiter.enabled = False
    with arbiter.generation_priority(threads=1):
        assert not arbiter.generation_running  # switched off (benchmarks): never waits
