"""Snap grids: note divisions (1/1 … 1/32, triplets) expressed in ticks, and snapping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SnapDivision:
    """A grid of `1/denominator` notes; triplet grids put three in the space of two."""

    denominator: int
    triplet: bool = False

    @property
    def label(self) -> str:
        return f"1/{self.denominator}" + (" T" if self.triplet else "")

    def ticks(self, ticks_per_beat: int) -> int:
        """Grid step in ticks (a whole note is four beats); never below one tick."""
        whole = 4 * ticks_per_beat
        step = whole / self.denominator
        if self.triplet:
            step = step * 2 / 3
        return max(1, round(step))


SNAP_DIVISIONS: tuple[SnapDivision, ...] = (
    SnapDivision(1),
    SnapDivision(2),
    SnapDivision(4),
    SnapDivision(8),
    SnapDivision(16),
    SnapDivision(32),
    SnapDivision(4, True),
    SnapDivision(8, True),
    SnapDivision(16, True),
    SnapDivision(32, True),
)


def snap_down(tick: int, grid: int) -> int:
    return (int(tick) // grid) * grid


def snap_nearest(tick: int, grid: int) -> int:
    return int(np.floor(int(tick) / grid + 0.5)) * grid


def snap_nearest_array(ticks: np.ndarray, grid: int) -> np.ndarray:
    return (np.floor(np.asarray(ticks, dtype=np.float64) / grid + 0.5) * grid).astype(np.int64)


def blend(current: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """Move `current` toward `target` by `strength` (0 = unchanged, 1 = fully on target)."""
    current = np.asarray(current, dtype=np.int64)
    delta = np.asarray(target, dtype=np.int64) - current
    return current + np.rint(delta * float(strength)).astype(np.int64)
