"""A stream driven by hand: the stand-in for a sound card in tests and benchmarks.

`ManualStream` behaves like a started `sounddevice.OutputStream` whose hardware clock
only moves when `pump` is called: each pump asks the callback for one buffer, exactly
as PortAudio would, and records what the "device" received.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.audio.player import Callback, make_time_info


class ManualStream:
    def __init__(
        self,
        callback: Callback,
        samplerate: float = 44100,
        blocksize: int = 1024,
        latency: float = 0.02,
        channels: int = 2,
        keep: bool = True,
    ) -> None:
        self.callback = callback
        self.samplerate = float(samplerate)
        self.blocksize = int(blocksize)
        self.latency = float(latency)
        self.channels = channels
        self.active = False
        self.closed = False
        self.clock = 0.0  # seconds of "hardware" time
        self.keep = keep
        self.received: list[np.ndarray] = []
        self._buffer = np.zeros((self.blocksize, channels), dtype=np.float32)

    @property
    def time(self) -> float:
        return self.clock

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active = False
        self.closed = True

    def pump(self, buffers: int = 1) -> np.ndarray:
        """Run the callback `buffers` times, advancing the clock; returns the audio."""
        chunks = []
        for _ in range(buffers):
            info: Any = make_time_info(self.clock + self.latency, self.clock)
            self.callback(self._buffer, self.blocksize, info, None)
            chunks.append(self._buffer.copy())
            self.clock += self.blocksize / self.samplerate
        audio = np.concatenate(chunks) if chunks else np.zeros((0, self.channels), np.float32)
        if self.keep:
            self.received.append(audio)
        return audio

    def heard(self) -> np.ndarray:
        if not self.received:
            return np.zeros((0, self.channels), dtype=np.float32)
        return np.concatenate(self.received)
