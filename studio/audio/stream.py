"""The sounddevice shell: find an output device and run a PortAudio stream.

Nothing here renders audio; the stream's callback is `Player.callback`. Every failure
(PortAudio not installed, no output device, a device that refuses the sample rate, a
device unplugged mid-song) becomes a reason string for the transport bar instead of an
exception that would take the app down.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from studio.audio.player import Callback

PREFERRED_RATES = (44100, 48000)


@dataclass(frozen=True)
class OutputDevice:
    index: int
    name: str
    host_api: str
    channels: int
    default_rate: int
    is_default: bool

    @property
    def label(self) -> str:
        default = " (default)" if self.is_default else ""
        return f"{self.name} — {self.host_api}{default}"


@dataclass(frozen=True)
class DeviceScan:
    """What the audio system offers right now. `reason` says why nothing can play."""

    devices: tuple[OutputDevice, ...]
    reason: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.devices) and not self.reason

    def find(self, name: str | None) -> OutputDevice | None:
        """The device with this name, else the system default, else the first one."""
        if name:
            for device in self.devices:
                if device.name == name:
                    return device
        for device in self.devices:
            if device.is_default:
                return device
        return self.devices[0] if self.devices else None


class AudioStream(Protocol):
    """The part of `sounddevice.OutputStream` the controller uses (fakes implement it)."""

    samplerate: float
    latency: float
    active: bool

    @property
    def time(self) -> float: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class StreamError(Exception):
    """A stream could not be opened; the message is written for the user."""


def _load_sounddevice(refresh: bool = False) -> Any:
    """Import sounddevice; PortAudio missing raises OSError on import (keep it typed)."""
    module = sys.modules.get("sounddevice")
    if module is None:
        module = importlib.import_module("sounddevice")
    elif refresh:
        # PortAudio lists devices once, at initialisation: re-initialise to see a device
        # plugged in since (sounddevice issue #125). Only safe with no stream open.
        module._terminate()
        module._initialize()
    return module


def scan_devices(refresh: bool = False) -> DeviceScan:
    """List output devices; never raises."""
    try:
        sd = _load_sounddevice(refresh)
    except OSError as exc:
        return DeviceScan(
            (),
            "No audio: the PortAudio library is not installed "
            f"({exc}). Install it (e.g. 'sudo apt install libportaudio2') and press Rescan.",
        )
    except Exception as exc:  # a broken install must not stop the app
        return DeviceScan((), f"No audio: sounddevice could not start ({exc}).")
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_out = sd.default.device[1]
    except Exception as exc:
        return DeviceScan((), f"No audio: could not list devices ({exc}).")
    devices = []
    for info in raw:
        if int(info.get("max_output_channels", 0)) < 1:
            continue
        api = hostapis[info["hostapi"]]["name"] if 0 <= info["hostapi"] < len(hostapis) else ""
        devices.append(
            OutputDevice(
                index=int(info["index"]),
                name=str(info["name"]),
                host_api=str(api),
                channels=int(info["max_output_channels"]),
                default_rate=round(float(info.get("default_samplerate") or 44100)),
                is_default=int(info["index"]) == default_out,
            )
        )
    if not devices:
        return DeviceScan((), "No audio: no output device found. Connect one and press Rescan.")
    return DeviceScan(tuple(devices))


def choose_sample_rate(device: OutputDevice, wanted: int) -> tuple[int, str]:
    """A rate the device accepts, preferring `wanted`; plus a notice if it had to differ."""
    try:
        sd = _load_sounddevice()
    except OSError:
        return wanted, ""
    candidates = [wanted, device.default_rate, *PREFERRED_RATES]
    for rate in dict.fromkeys(candidates):
        try:
            sd.check_output_settings(
                device=device.index, channels=min(2, device.channels), dtype="float32",
                samplerate=rate,
            )  # fmt: skip
        except Exception:
            continue
        if rate != wanted:
            return rate, (
                f"{device.name} does not play {wanted} Hz; using {rate} Hz instead "
                "(change it in Preferences ▸ Audio)."
            )
        return rate, ""
    return wanted, ""


def open_stream(
    device: OutputDevice, sample_rate: int, callback: Callback, blocksize: int = 1024
) -> AudioStream:
    """Open (not start) a float32 output stream on `device`. Raises StreamError."""
    try:
        sd = _load_sounddevice()
        return sd.OutputStream(
            samplerate=sample_rate,
            blocksize=blocksize,
            device=device.index,
            channels=min(2, device.channels),
            dtype="float32",
            latency="low",
            callback=callback,
        )
    except Exception as exc:
        raise StreamError(f"Cannot open {device.name} at {sample_rate} Hz: {exc}") from exc


class AudioBackend(Protocol):
    """What the transport needs from an audio system (sounddevice, or a fake in tests)."""

    def scan(self, refresh: bool = False) -> DeviceScan: ...

    def choose_rate(self, device: OutputDevice, wanted: int) -> tuple[int, str]: ...

    def open(
        self, device: OutputDevice, sample_rate: int, callback: Callback, blocksize: int
    ) -> AudioStream: ...


class SoundDeviceBackend:
    """The real backend: PortAudio through sounddevice."""

    def scan(self, refresh: bool = False) -> DeviceScan:
        return scan_devices(refresh)

    def choose_rate(self, device: OutputDevice, wanted: int) -> tuple[int, str]:
        return choose_sample_rate(device, wanted)

    def open(
        self, device: OutputDevice, sample_rate: int, callback: Callback, blocksize: int
    ) -> AudioStream:
        return open_stream(device, sample_rate, callback, blocksize)
