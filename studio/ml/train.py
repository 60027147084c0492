"""Training loop (API skeleton; the loop lands in the next commit)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.core.song import Song


@dataclass
class TrainConfig:
    data: str = "bach-chorales"
    out_dir: str = "runs/default"
    preset: str = "default"
    steps: int = 2000
    batch_size: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    checkpoint_every: int = 500
    preview_every: int = 100
    metrics_every: int = 500
    seed: int = 0
    device: str = "auto"
    resume: bool = False


class TrainControl:
    """Thread-safe stop/pause flags, checked by `train` between steps."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()

    def request_pause(self) -> None:
        self._running.clear()

    def request_resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()


@dataclass
class Started:
    total_steps: int
    device: str
    dataset_summary: dict[str, Any]


@dataclass
class StepMetrics:
    step: int
    total: int
    g_loss: float
    d_loss: float
    gp: float
    samples_per_s: float
    elapsed: float


@dataclass
class Preview:
    step: int
    song: Song
    roll: np.ndarray


@dataclass
class MetricsReport:
    step: int
    generated: dict[str, float]
    reference: dict[str, float]


@dataclass
class CheckpointSaved:
    step: int
    path: str


@dataclass
class Finished:
    step: int
    reason: str
    checkpoint: str | None = field(default=None)


TrainEvent = Started | StepMetrics | Preview | MetricsReport | CheckpointSaved | Finished


def train(config: TrainConfig, control: TrainControl | None = None) -> Iterator[TrainEvent]:
    raise NotImplementedError("the training loop lands in the next commit")
