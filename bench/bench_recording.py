"""Recording benchmarks: what a key costs before it is heard (first strike renders, later
strikes reuse the render), the metronome's cost per render block, and the time a MIDI
message takes from the MIDI library's thread to the GUI thread (the queued-signal bridge)."""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np

from bench.common import Row, best_of
from studio.audio.live import HOLD_SECONDS, HeldNoteCache
from studio.audio.metronome import Metronome
from studio.audio.player import BLOCK
from studio.audio.synth import Synth
from studio.core.recording import TakeRecorder
from studio.core.song import Song

SR = 44100


def _strike_ms() -> tuple[float, float]:
    synth = Synth(SR)
    synth.render_note(0, False, 60, 100, 0.1)  # tables baked, as after the first Play
    pitches = iter(range(30, 100))
    first = best_of(lambda: HeldNoteCache(synth).note(0, False, next(pitches), 100), repeat=5)
    cache = HeldNoteCache(synth)
    cache.note(0, False, 64, 100)
    again = best_of(lambda: cache.note(0, False, 64, 100), repeat=20, number=50)
    return first * 1000, again * 1000


def _metronome_ms() -> float:
    song = Song("click")
    metronome = Metronome(SR)
    block = np.zeros((BLOCK, 2), dtype=np.float32)
    starts = iter(range(0, 10**9, BLOCK))
    return best_of(lambda: metronome.mix_into(block, song, next(starts)), 5, 200) * 1000


def _take_ms(notes: int = 5000) -> float:
    def record() -> None:
        take = TakeRecorder(0)
        for k in range(notes):
            take.note_on(40 + k % 48, 90, k * 60)
            take.note_off(40 + k % 48, k * 60 + 50)
        take.notes()

    return best_of(record, repeat=3) * 1000


def _bridge_ms(messages: int = 200) -> tuple[float, float]:
    """Median and 95th percentile from emit (MIDI thread) to slot (GUI thread), idle GUI."""
    import mido
    from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt

    from studio.ui.recording import _Bridge

    app = QCoreApplication.instance() or QCoreApplication([])
    bridge = _Bridge()
    delays: list[float] = []
    done = QEventLoop()

    class Gui(QObject):  # a receiver in the GUI thread, as MidiInput is
        def on_event(self, _event: object, stamp: float) -> None:
            delays.append(time.perf_counter() - stamp)
            if len(delays) == messages:
                done.quit()

    gui = Gui()
    bridge.received.connect(gui.on_event, Qt.ConnectionType.QueuedConnection)

    def keyboard() -> None:
        for k in range(messages):
            message = mido.Message("note_on", note=40 + k % 40, velocity=80)
            bridge.deliver(message, time.perf_counter())
            time.sleep(0.002)

    thread = threading.Thread(target=keyboard)
    thread.start()
    done.exec()
    thread.join()
    del app
    ms = sorted(d * 1000 for d in delays)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def run() -> list[Row]:
    first, again = _strike_ms()
    median, p95 = _bridge_ms()
    return [
        Row("recording", "key heard: first strike (render)", first, "ms", "< 20",
            f"a {HOLD_SECONDS:g} s held note rendered on the GUI thread"),
        Row("recording", "key heard: same key again (cached)", again, "ms", "< 1"),
        Row("recording", "MIDI thread -> GUI thread, median", median, "ms", "< 5",
            "queued signal, idle GUI"),
        Row("recording", "MIDI thread -> GUI thread, 95th pct", p95, "ms", "< 10"),
        Row("recording", f"metronome per {BLOCK}-frame block", _metronome_ms(), "ms", "< 0.5"),
        Row("recording", "take of 5000 notes -> Notes", _take_ms(), "ms", "< 100"),
    ]  # fmt: skip
