"""MIDI input ports: messages -> key events, port matching, the real mido/rtmidi backend
(a virtual port where the system has a MIDI service; the reason it gives where it has
none), and the injectable backend the UI tests play through."""

from __future__ import annotations

import os
import threading
import time

import mido
import pytest

from studio.audio import midi_input
from studio.audio.midi_input import (
    NEEDS_RTMIDI,
    NO_PORTS,
    InjectedMidiBackend,
    KeyEvent,
    MidiInputError,
    PortScan,
    RtMidiBackend,
    key_event,
    port_stem,
)


def test_key_events_from_messages():
    assert key_event(mido.Message("note_on", note=60, velocity=99)) == KeyEvent("on", 60, 99)
    assert key_event(mido.Message("note_on", note=60, velocity=0)) == KeyEvent("off", 60)
    assert key_event(mido.Message("note_off", note=61, velocity=40)) == KeyEvent("off", 61)
    pedal = key_event(mido.Message("control_change", control=64, value=127))
    assert pedal == KeyEvent("pedal", velocity=127)
    assert key_event(mido.Message("control_change", control=1, value=5)) is None
    assert key_event(mido.Message("clock")) is None
    assert key_event(mido.Message("pitchwheel", pitch=100)) is None


def test_a_port_is_found_again_under_a_new_client_number():
    scan = PortScan(("Midi Through:Midi Through Port-0 14:0", "Keystation:Keystation MIDI 1 28:0"))
    assert port_stem("Keystation:Keystation MIDI 1 24:0") == "Keystation:Keystation MIDI 1"
    assert scan.find("Keystation:Keystation MIDI 1 24:0") == "Keystation:Keystation MIDI 1 28:0"
    # Automatic: the first keyboard, not ALSA's loopback port listed before it.
    assert scan.find("") == "Keystation:Keystation MIDI 1 28:0"
    assert PortScan(("Midi Through Port-0",)).find("") == "Midi Through Port-0"
    assert scan.find("Digital Piano 20:0") is None
    assert not PortScan((), NO_PORTS).ok and PortScan((), NO_PORTS).find("") is None


def test_without_python_rtmidi_the_scan_says_what_to_install(monkeypatch):
    def missing():
        raise ModuleNotFoundError("No module named 'rtmidi'")

    monkeypatch.setattr(midi_input, "_load_backend", missing)
    scan = RtMidiBackend().scan()
    assert scan.ports == () and scan.reason == NEEDS_RTMIDI
    with pytest.raises(MidiInputError, match="python-rtmidi"):
        RtMidiBackend().open("Keystation", lambda m, t: None)


def test_a_broken_midi_service_becomes_a_reason(monkeypatch):
    class Broken:
        def get_input_names(self):
            raise RuntimeError("MidiInAlsa::initialize: error creating ALSA sequencer client")

    monkeypatch.setattr(midi_input, "_load_backend", lambda: Broken())
    reason = RtMidiBackend().scan().reason
    assert reason.startswith("No MIDI input: the system's MIDI service is not available")

    class Empty:
        def get_input_names(self):
            return []

    monkeypatch.setattr(midi_input, "_load_backend", lambda: Empty())
    assert RtMidiBackend().scan().reason == NO_PORTS


def test_the_real_backend_never_raises_on_this_machine():
    scan = RtMidiBackend().scan()
    assert scan.ok or scan.reason  # ports, or a sentence that says why not


@pytest.mark.skipif(not os.path.exists("/dev/snd/seq"), reason="no ALSA sequencer here")
def test_a_virtual_port_delivers_through_rtmidi():
    """Where the platform has a MIDI service: a virtual keyboard's notes arrive stamped."""
    backend = mido.Backend("mido.backends.rtmidi", load=True)
    received: list[tuple[object, float]] = []
    got = threading.Event()
    with backend.open_output("Pianola Test Keyboard", virtual=True) as keyboard:
        scan = RtMidiBackend().scan()
        name = next(p for p in scan.ports if "Pianola Test Keyboard" in p)

        def on_message(message, stamp):
            received.append((message, stamp))
            got.set()

        source = RtMidiBackend().open(name, on_message)
        try:
            before = time.perf_counter()
            keyboard.send(mido.Message("note_on", note=64, velocity=77))
            assert got.wait(2.0)
        finally:
            source.close()
    message, stamp = received[0]
    assert key_event(message) == KeyEvent("on", 64, 77)
    assert stamp >= before


def test_injected_backend_delivers_on_another_thread_and_unplugs():
    backend = InjectedMidiBackend(("Keys",))
    threads: list[str] = []

    def on_message(message, stamp):
        threads.append(threading.current_thread().name)

    source = backend.open("Keys", on_message)
    backend.send(mido.Message("note_on", note=60, velocity=1), stamp=1.5)
    assert threads and threads[0] != threading.current_thread().name
    backend.unplug()
    assert backend.scan().reason == NO_PORTS
    backend.send(mido.Message("note_on", note=60, velocity=1))
    assert len(threads) == 1  # an unplugged keyboard sends nothing
    source.close()
    with pytest.raises(MidiInputError, match="not connected"):
        backend.open("Keys", on_message)


def test_the_real_backend_stamps_each_message_and_closes_its_port(monkeypatch):
    """rtmidi calls mido's callback on its own thread; ours adds the arrival time."""

    class Port:
        closed = False

        def close(self):
            Port.closed = True

    class FakeMido:
        def open_input(self, name, callback):
            self.name, self.callback = name, callback
            return Port()

    fake = FakeMido()
    monkeypatch.setattr(midi_input, "_load_backend", lambda: fake)
    got: list[tuple[object, float]] = []
    source = RtMidiBackend().open("Keystation 49", lambda m, t: got.append((m, t)))
    before = time.perf_counter()
    fake.callback(mido.Message("note_on", note=60, velocity=64))
    assert fake.name == "Keystation 49" and got[0][1] >= before
    source.close()
    assert Port.closed

    class Refusing:
        def open_input(self, name, callback):
            raise OSError("port busy")

    monkeypatch.setattr(midi_input, "_load_backend", lambda: Refusing())
    with pytest.raises(MidiInputError, match="Cannot open the MIDI input Keystation 49: port busy"):
        RtMidiBackend().open("Keystation 49", lambda m, t: None)
