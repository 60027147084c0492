"""Typed errors of the ML engine. Every message names what went wrong and what to do."""

from __future__ import annotations


class MLError(Exception):
    """Base class of every error the ML engine raises on purpose."""


class DatasetError(MLError):
    """A dataset cannot be built (no usable MIDI, windows too short, ...).

    ``skipped`` lists ``(file, reason)`` for files that could not be used, when known.
    """

    def __init__(self, message: str, skipped: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.skipped = list(skipped or [])


class CheckpointError(MLError):
    """A checkpoint is missing, corrupt, unsafe or from another architecture/version."""


class NoBundledModelError(CheckpointError):
    """`default` was asked for but no model is bundled in models/ yet."""


class TrainingError(MLError):
    """Training cannot start or cannot go on."""


class DeviceError(TrainingError):
    """The requested device (cuda, mps) is not available."""


class NonFiniteLossError(TrainingError):
    """A loss became NaN/inf; the step was discarded and training stopped."""


class OutOfMemoryTrainingError(TrainingError):
    """The device ran out of memory even at the smallest batch size."""
