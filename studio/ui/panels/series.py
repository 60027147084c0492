"""Points that grow as training reports them: one store for the loss curves and the
quality tiles' sparklines."""

from __future__ import annotations

import math

import numpy as np

SMOOTHING = 0.97  # weight of the running average (EMA) of the loss curves


class GrowingSeries:
    """x/y points in preallocated arrays that double when full, plus an EMA of y."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.smooth = np.empty(capacity, dtype=np.float64)
        self.count = 0
        self._ema = 0.0
        self._ema_weight = 0.0

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        n = len(xs)
        if not n:
            return
        need = self.count + n
        if need > len(self.x):
            capacity = max(need, 2 * len(self.x))
            for name in ("x", "y", "smooth"):
                grown = np.empty(capacity, dtype=np.float64)
                grown[: self.count] = getattr(self, name)[: self.count]
                setattr(self, name, grown)
        end = self.count + n
        self.x[self.count : end] = xs
        self.y[self.count : end] = ys
        # The EMA is a short Python loop over the new points only; non-finite points
        # (a NaN loss) are shown as gaps and do not poison the average.
        ema, weight = self._ema, self._ema_weight
        out = self.smooth
        for k, value in enumerate(ys, start=self.count):
            if math.isfinite(value):
                ema = SMOOTHING * ema + (1.0 - SMOOTHING) * value
                weight = SMOOTHING * weight + (1.0 - SMOOTHING)
            out[k] = ema / weight if weight > 0 else math.nan
        self._ema, self._ema_weight = ema, weight
        self.count = end

    def clear(self) -> None:
        self.count = 0
        self._ema = 0.0
        self._ema_weight = 0.0

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.count
        return self.x[:n], self.y[:n], self.smooth[:n]

    def append(self, x: float, y: float) -> None:
        self.extend(np.array([x], np.float64), np.array([y], np.float64))
