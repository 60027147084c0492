"""MIDI input ports through mido with the python-rtmidi backend, and an injectable source.

A backend lists input ports (`scan`, which never raises: every failure becomes a reason
written for the user, like the audio device scan) and opens one with a callback that
receives each message and the `time.perf_counter()` at which it arrived. The callback
runs on the MIDI library's own thread: the UI hands messages to the GUI thread itself.

`InjectedMidiBackend` is the same interface driven by hand: tests (and machines without
a MIDI system, where rtmidi's virtual ports are unavailable) send messages through it,
plug and unplug ports. No Qt here.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

MessageCallback = Callable[[Any, float], None]  # (mido.Message, perf_counter seconds)

NEEDS_RTMIDI = (
    "MIDI input needs python-rtmidi, which is not installed "
    "(pip install python-rtmidi), then press Rescan."
)
NO_PORTS = "No MIDI input: no MIDI keyboard found. Connect one and press Rescan."


class MidiInputError(Exception):
    """A port could not be opened; the message is written for the user."""


@dataclass(frozen=True)
class PortScan:
    """The MIDI input ports offered right now; `reason` says why there are none."""

    ports: tuple[str, ...]
    reason: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.ports) and not self.reason

    def find(self, name: str | None) -> str | None:
        """The port called `name`; the same device under a new client number; or, for
        no name ("automatic"), the first keyboard (ALSA's "Midi Through" loopback port is
        listed first on Linux but is not one). None when the named device is absent."""
        if not name:
            keyboards = [p for p in self.ports if not is_loopback(p)]
            return (keyboards or list(self.ports) or [None])[0]
        if name in self.ports:
            return name
        stem = port_stem(name)
        for port in self.ports:
            if port_stem(port) == stem:
                return port
        return None


def is_loopback(name: str) -> bool:
    """ALSA's "Midi Through" port: it echoes what is sent to it, no keyboard behind it."""
    return name.lower().startswith("midi through")


def port_stem(name: str) -> str:
    """The port name without ALSA's trailing "client:port" numbers, which change when a
    keyboard is unplugged and plugged in again ("Keystation:Keystation MIDI 1 24:0")."""
    return re.sub(r"\s+\d+:\d+$", "", name).strip()


@dataclass(frozen=True)
class KeyEvent:
    """What recording needs from a MIDI message: a key down/up or the sustain pedal."""

    kind: str  # "on", "off" or "pedal"
    pitch: int = 0
    velocity: int = 0  # note-on velocity; pedal value (0-127) for "pedal"


def key_event(message: Any) -> KeyEvent | None:
    """The key event in a mido message (None for clock, other controllers, sysex...)."""
    kind = getattr(message, "type", "")
    if kind == "note_on":
        if message.velocity == 0:  # running status: note-on 0 is a note-off
            return KeyEvent("off", int(message.note))
        return KeyEvent("on", int(message.note), int(message.velocity))
    if kind == "note_off":
        return KeyEvent("off", int(message.note))
    if kind == "control_change" and message.control == 64:
        return KeyEvent("pedal", velocity=int(message.value))
    return None


class MidiSource(Protocol):
    """An open input port."""

    name: str

    def close(self) -> None: ...


class MidiBackend(Protocol):
    def scan(self) -> PortScan: ...

    def open(self, name: str, callback: MessageCallback) -> MidiSource: ...


# -- the real backend: mido + python-rtmidi -------------------------------------------------
def _load_backend() -> Any:
    """mido's rtmidi backend; ImportError when python-rtmidi is missing."""
    mido = importlib.import_module("mido")
    return mido.Backend("mido.backends.rtmidi", load=True)


class _MidoSource:
    def __init__(self, name: str, port: Any) -> None:
        self.name = name
        self._port = port

    def close(self) -> None:
        # An unplugged port may fail to close: it is gone either way.
        with contextlib.suppress(Exception):
            self._port.close()


class RtMidiBackend:
    """Ports of the system's MIDI service (ALSA sequencer, CoreMIDI, WinMM) via rtmidi."""

    def scan(self) -> PortScan:
        try:
            backend = _load_backend()
        except ImportError:
            return PortScan((), NEEDS_RTMIDI)
        except Exception as exc:  # a broken install must not stop the app
            return PortScan((), f"No MIDI input: the MIDI library could not start ({exc}).")
        try:
            names = tuple(dict.fromkeys(str(n) for n in backend.get_input_names()))
        except Exception as exc:
            return PortScan((), _service_reason(exc))
        if not names:
            return PortScan((), NO_PORTS)
        return PortScan(names)

    def open(self, name: str, callback: MessageCallback) -> MidiSource:
        try:
            backend = _load_backend()
        except ImportError as exc:
            raise MidiInputError(NEEDS_RTMIDI) from exc

        def deliver(message: Any) -> None:
            callback(message, time.perf_counter())

        try:
            port = backend.open_input(name, callback=deliver)
        except Exception as exc:
            raise MidiInputError(f"Cannot open the MIDI input {name}: {exc}") from exc
        return _MidoSource(name, port)


def _service_reason(exc: Exception) -> str:
    text = str(exc)
    if "ALSA" in text or "sequencer" in text:
        return (
            "No MIDI input: the system's MIDI service is not available (the ALSA sequencer, "
            "/dev/snd/seq, is missing; on Linux load the snd-seq module)."
        )
    return f"No MIDI input: could not list MIDI ports ({text})."


# -- a backend driven by hand --------------------------------------------------------------
class InjectedSource:
    def __init__(self, backend: InjectedMidiBackend, name: str, callback: MessageCallback):
        self.name = name
        self.callback = callback
        self.closed = False
        self._backend = backend

    def close(self) -> None:
        self.closed = True


class InjectedMidiBackend:
    """Ports that exist because a test says so; `send` delivers as a keyboard would.

    `send` calls the port's callback on a separate thread by default (as rtmidi does), so
    the UI's thread bridge is exercised for real; `threaded=False` calls it in place.
    """

    def __init__(self, ports: tuple[str, ...] = ("Injected Keyboard",), threaded: bool = True):
        self.ports = list(ports)
        self.threaded = threaded
        self.sources: list[InjectedSource] = []
        self.reason = ""  # e.g. NEEDS_RTMIDI, to act out a machine without python-rtmidi

    def scan(self) -> PortScan:
        if self.reason:
            return PortScan((), self.reason)
        return PortScan(tuple(self.ports)) if self.ports else PortScan((), NO_PORTS)

    def open(self, name: str, callback: MessageCallback) -> MidiSource:
        if name not in self.ports:
            raise MidiInputError(f"Cannot open the MIDI input {name}: it is not connected.")
        source = InjectedSource(self, name, callback)
        self.sources.append(source)
        return source

    @property
    def open_sources(self) -> list[InjectedSource]:
        return [s for s in self.sources if not s.closed and s.name in self.ports]

    def send(self, message: Any, stamp: float | None = None) -> None:
        """Deliver `message` to every open port (stamped now unless `stamp` is given)."""
        at = time.perf_counter() if stamp is None else stamp
        for source in self.open_sources:
            if self.threaded:
                thread = threading.Thread(target=source.callback, args=(message, at))
                thread.start()
                thread.join()
            else:
                source.callback(message, at)

    def unplug(self, name: str | None = None) -> None:
        """The keyboard goes away: its port disappears and no longer delivers."""
        if name is None:
            self.ports.clear()
        elif name in self.ports:
            self.ports.remove(name)

    def plug(self, name: str) -> None:
        if name not in self.ports:
            self.ports.append(name)
