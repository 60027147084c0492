"""Sound systems for tests that open the real window without touching audio hardware."""

from __future__ import annotations

from studio.audio.stream import DeviceScan


class SilentBackend:
    """A sound system without output devices (what a machine with no sound card reports)."""

    def scan(self, refresh: bool = False) -> DeviceScan:
        return DeviceScan((), "No audio: no output device found.")

    def choose_rate(self, device, wanted):  # pragma: no cover - never called without devices
        return wanted, ""

    def open(self, device, sample_rate, callback, blocksize):  # pragma: no cover
        raise OSError("no device")
