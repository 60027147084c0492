"""Recording from a MIDI keyboard, as a composer does it: choose the keyboard in Audio
Settings, press R, play (an injected keyboard whose messages arrive on another thread, as
rtmidi's do), Stop; step input; a keyboard unplugged mid-take; no keyboard at all."""

from __future__ import annotations

import itertools
import os
import threading

import mido
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from studio.audio.midi_input import NEEDS_RTMIDI, NO_PORTS, InjectedMidiBackend, RtMidiBackend
from studio.audio.stream import DeviceScan, OutputDevice
from studio.audio.testing import ManualStream
from studio.core import edits
from studio.core.song import Notes, Song, TempoChange, Track
from studio.ui.audio_dialogs import AudioSettingsDialog
from studio.ui.main_window import MainWindow, WindowParts
from studio.ui.recording import COUNT_IN, IDLE, RECORDING

MAIN = threading.main_thread()
NOW = 1000.0  # the MIDI clock in these tests (see `rig`)
NO_DEVICE = "No audio: no output device found. Connect one and press Rescan."


class FakeAudio:
    """A sound card with a hand-cranked clock (see tests/ui/test_transport_ui.py)."""

    def __init__(self, connected: bool = True) -> None:
        self.connected = connected
        self.streams: list[ManualStream] = []

    def scan(self, refresh: bool = False) -> DeviceScan:
        if not self.connected:
            return DeviceScan((), NO_DEVICE)
        return DeviceScan((OutputDevice(3, "Studio Monitors", "ALSA", 2, 44100, True),))

    def choose_rate(self, device, wanted):
        return wanted, ""

    def open(self, device, sample_rate, callback, blocksize):
        stream = ManualStream(callback, sample_rate, blocksize, latency=0.05)
        self.streams.append(stream)
        return stream


def song(bpm: float = 120.0) -> Song:
    return Song("Take", tempos=[TempoChange(0, bpm)], tracks=[Track("Piano", program=0)])


@pytest.fixture
def rig(qtbot):
    made: list = []

    def make(ports=("Keystation 49",), audio=True, bpm=120.0, midi_reason="", **options):
        """`ports=None`: the real mido + python-rtmidi backend of this machine."""
        settings = QSettings()
        for key, value in {"count_in_bars": 0, **options}.items():
            settings.setValue(f"recording/{key}", value)
        midi = InjectedMidiBackend(tuple(ports)) if ports is not None else RtMidiBackend()
        if midi_reason:
            midi.reason = midi_reason
        sound = FakeAudio(audio)
        parts = WindowParts(
            audio=True, audio_backend=sound, threaded_audio=False, midi_backend=midi
        )
        window = MainWindow(parts=parts)
        window.maybe_save = lambda: True
        qtbot.addWidget(window)
        window.set_song(song(bpm))
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
        window.editor.canvas.setFocus()
        # Real time runs on while the test's sound card clock stands still between cranks:
        # stop the MIDI clock too, so a message's lateness is only what a test says.
        window.recorder.clock = lambda: NOW
        made.append(window)
        return window, window.recorder, midi, sound

    yield make
    for window in made:
        window.recorder.midi.close()
        window.transport.shutdown()


def crank(window, sound, buffers: int) -> np.ndarray:
    """Let the 'sound card' play `buffers` buffers, then run one playhead frame."""
    controller = window.transport
    out = []
    for _ in range(buffers):
        controller.player.fill()
        out.append(sound.streams[-1].pump())
    controller._on_frame()
    return np.concatenate(out)


def key(qtbot, window, midi, kind: str, pitch=60, velocity=100, late: float = 0.0) -> None:
    """The keyboard sends a message (on its own thread); wait until the GUI has it.

    `late`: seconds between the key and the GUI getting the message (a busy GUI thread).
    """
    if kind == "pedal":
        message = mido.Message("control_change", control=64, value=velocity)
    else:
        message = mido.Message(kind, note=pitch, velocity=velocity if kind == "note_on" else 0)
    with qtbot.waitSignal(window.recorder.midi.event, timeout=2000):
        midi.send(message, stamp=NOW - late)


def track_notes(window) -> list[tuple[int, int, int]]:
    notes = window.document.song.tracks[0].notes
    return [(int(p), int(s), int(d)) for p, s, d in zip(notes.pitch, notes.start, notes.duration,
                                                         strict=True)]  # fmt: skip


# -- choosing the keyboard ------------------------------------------------------------------------
def test_audio_settings_lists_midi_inputs_and_the_choice_opens_the_port(rig, qtbot):
    window, recorder, midi, _ = rig(ports=("Keystation 49", "Digital Piano"))
    dialog = AudioSettingsDialog(window.transport, window)
    qtbot.addWidget(dialog)
    page = dialog.page
    items = [page.midi_port.itemText(k) for k in range(page.midi_port.count())]
    assert items == ["Automatic (the first keyboard found)", "Keystation 49", "Digital Piano"]
    page.midi_port.setCurrentIndex(2)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert recorder.midi.name == "Digital Piano"
    assert QSettings().value("recording/port") == "Digital Piano"
    # Only the chosen keyboard is heard.
    assert [s.name for s in midi.open_sources] == ["Digital Piano"]


def test_no_midi_input_is_said_in_audio_settings(rig, qtbot):
    window, _recorder, midi, _ = rig(ports=())
    dialog = AudioSettingsDialog(window.transport, window)
    qtbot.addWidget(dialog)
    assert dialog.page.midi_port.currentText() == "No MIDI input"
    assert not dialog.page.midi_port.isEnabled()
    assert dialog.page.midi_status.text() == NO_PORTS
    midi.plug("Keystation 49")  # plugged in while the dialog is open: Rescan finds it
    qtbot.mouseClick(dialog.page.midi_rescan, Qt.MouseButton.LeftButton)
    assert dialog.page.midi_port.isEnabled()
    assert dialog.page.midi_port.itemText(1) == "Keystation 49"
    assert dialog.page.midi_status.text() == ""


def test_without_python_rtmidi_the_dialog_and_record_say_what_to_install(rig, qtbot):
    window, recorder, _midi, _ = rig(midi_reason=NEEDS_RTMIDI)
    dialog = AudioSettingsDialog(window.transport, window)
    qtbot.addWidget(dialog)
    assert dialog.page.midi_status.text() == NEEDS_RTMIDI
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == IDLE
    assert "python-rtmidi" in recorder.indicator.text()


# -- recording ------------------------------------------------------------------------------------
def test_record_play_stop_puts_the_take_in_the_active_track_as_one_undo_step(rig, qtbot):
    window, recorder, midi, sound = rig()
    handled_on: list[bool] = []  # which thread the window handles keys on
    recorder.midi.event.connect(lambda *_: handled_on.append(threading.current_thread() is MAIN))
    before = window.document.undo_stack.count()
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == RECORDING and window.transport.is_playing
    assert window.commands.action("transport.record").isChecked()
    assert recorder.indicator.text().startswith("● REC")
    qtbot.waitUntil(recorder.indicator.isVisible, timeout=1000)  # the bar lays out on idle
    crank(window, sound, 20)
    at_first = window.document.playhead
    key(qtbot, window, midi, "note_on", 60, 90)
    crank(window, sound, 10)
    at_second = window.document.playhead
    key(qtbot, window, midi, "note_on", 64, 70)
    crank(window, sound, 10)
    at_release = window.document.playhead
    key(qtbot, window, midi, "note_off", 60)
    assert [n[0] for n in track_notes(window)] == [60]  # a note appears as it is played
    assert not window.document.undo_stack.canUndo()  # no undoing half a take
    crank(window, sound, 5)
    assert recorder.indicator.text() == "● REC · 2 notes"
    window.commands.trigger("transport.stop")  # 64 is still held: it ends at Stop
    assert recorder.state == IDLE
    notes = track_notes(window)
    assert [n[0] for n in notes] == [60, 64]
    assert notes[0][1] == pytest.approx(at_first, abs=1)  # where the key was heard
    assert notes[1][1] == pytest.approx(at_second, abs=1)
    assert notes[0][1] + notes[0][2] == pytest.approx(at_release, abs=1)
    assert list(window.document.song.tracks[0].notes.velocity) == [90, 70]
    assert window.document.undo_stack.count() == before + 1
    assert window.document.undo_stack.undoText() == "Record"
    assert handled_on == [True, True, True]  # rtmidi's thread never touches the GUI
    assert "2 notes recorded into Piano" in window.statusBar().currentMessage()
    window.document.undo_stack.undo()
    assert track_notes(window) == []


def test_record_button_on_the_transport_bar(rig, qtbot):
    window, recorder, _midi, _sound = rig()
    action = window.commands.action("transport.record")
    button = window.transport_bar.widgetForAction(action)
    assert button is not None and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert recorder.state == RECORDING
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # again: punch out
    assert recorder.state == IDLE and window.transport.is_playing
    assert not action.isChecked()
    assert recorder.indicator.text() == "Nothing was played: no notes recorded."


def test_count_in_then_quantized_take_from_the_playhead(rig, qtbot):
    window, recorder, midi, sound = rig(bpm=240.0, count_in_bars=1, quantize=True)
    assert window.commands.action("transport.count_in").isChecked()
    assert window.commands.action("transport.quantize_input").isChecked()
    grid = window.editor.grid_ticks()
    window.document.set_playhead(4 * 480)  # bar 2
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == COUNT_IN and not window.transport.is_playing
    assert recorder.indicator.text() == "● Count-in…"
    clicks = crank(window, sound, 20)  # the count-in clicks sound
    assert np.abs(clicks).max() > 0.05
    key(qtbot, window, midi, "note_on", 55)  # a little early: lands on the downbeat
    qtbot.waitUntil(lambda: recorder.state == RECORDING, timeout=3000)  # one bar at 240 bpm
    crank(window, sound, 4)
    key(qtbot, window, midi, "note_off", 55)
    crank(window, sound, 17)
    key(qtbot, window, midi, "note_on", 59)
    crank(window, sound, 7)
    key(qtbot, window, midi, "note_off", 59)
    window.commands.trigger("transport.stop")
    notes = track_notes(window)
    assert [n[0] for n in notes] == [55, 59]
    assert notes[0][1] == 4 * 480
    assert all(start % grid == 0 for _p, start, _d in notes)
    assert notes[1][1] > 4 * 480


def test_metronome_clicks_while_recording_and_not_when_off(rig, qtbot):
    window, recorder, _midi, sound = rig()  # an empty track: only the clicks can sound
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    heard = crank(window, sound, 30)
    assert np.abs(heard).max() > 0.05
    window.commands.trigger("transport.stop")
    window.commands.trigger("transport.metronome")
    assert not recorder.options.metronome
    window.document.set_playhead(0)
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    crank(window, sound, 2)
    assert np.abs(crank(window, sound, 30)).max() == 0.0
    assert QSettings().value("recording/metronome") in (False, "false")


def test_what_is_played_is_heard_and_stops_when_the_key_is_released(rig, qtbot):
    window, _recorder, midi, sound = rig()
    key(qtbot, window, midi, "note_on", 69)
    assert sound.streams, "a key opens the sound card"
    heard = crank(window, sound, 8)
    spectrum = np.abs(np.fft.rfft(heard[:, 0]))
    freqs = np.fft.rfftfreq(len(heard), 1 / 44100)
    assert 420 < freqs[spectrum[20:].argmax() + 20] < 460  # A4
    key(qtbot, window, midi, "note_off", 69)
    crank(window, sound, 8)
    assert np.abs(crank(window, sound, 4)).max() == 0.0
    assert track_notes(window) == []  # playing along records nothing


# -- step input -----------------------------------------------------------------------------------
def test_step_input_enters_notes_of_the_snap_length_and_advances(rig, qtbot):
    window, recorder, midi, _sound = rig()
    grid = window.editor.grid_ticks()
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert recorder.stepping and window.commands.action("transport.step_input").isChecked()
    assert recorder.indicator.text().startswith("Step input")
    for pitch in (60, 62):
        key(qtbot, window, midi, "note_on", pitch)
        key(qtbot, window, midi, "note_off", pitch)
    key(qtbot, window, midi, "note_on", 64)  # a chord: keys held together
    key(qtbot, window, midi, "note_on", 67)
    key(qtbot, window, midi, "note_off", 64)
    key(qtbot, window, midi, "note_off", 67)
    assert track_notes(window) == [
        (60, 0, grid),
        (62, grid, grid),
        (64, 2 * grid, grid),
        (67, 2 * grid, grid),
    ]
    assert window.document.playhead == 3 * grid
    window.document.undo_stack.undo()  # the chord goes as one step
    assert [n[0] for n in track_notes(window)] == [60, 62]
    window.document.set_playhead(8 * grid)  # click the ruler: the cursor moves there
    key(qtbot, window, midi, "note_on", 72)
    key(qtbot, window, midi, "note_off", 72)
    assert track_notes(window)[-1] == (72, 8 * grid, grid)
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert not recorder.stepping
    key(qtbot, window, midi, "note_on", 74)
    assert len(track_notes(window)) == 3


# -- bad input ------------------------------------------------------------------------------------
def test_no_keyboard_record_says_so_and_changes_nothing(rig, qtbot):
    window, recorder, _midi, _sound = rig(ports=())
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == IDLE and not window.transport.is_playing
    assert recorder.indicator.text() == f"Cannot record. {NO_PORTS}"
    assert NO_PORTS in window.statusBar().currentMessage()
    assert not window.document.modified
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert not recorder.stepping
    assert not window.commands.action("transport.step_input").isChecked()


def test_no_audio_device_record_says_why(rig, qtbot):
    window, recorder, _midi, _sound = rig(audio=False)
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == IDLE
    assert recorder.indicator.text().startswith("Cannot record: recording needs the audio output")
    assert NO_DEVICE in recorder.indicator.text()


def test_keyboard_unplugged_mid_take_keeps_what_was_recorded(rig, qtbot):
    window, recorder, midi, sound = rig()
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    crank(window, sound, 10)
    key(qtbot, window, midi, "note_on", 60)
    crank(window, sound, 10)
    key(qtbot, window, midi, "note_off", 60)
    key(qtbot, window, midi, "note_on", 67)  # held when the cable comes out
    crank(window, sound, 10)
    midi.unplug()
    qtbot.waitUntil(lambda: recorder.state == IDLE, timeout=3000)  # noticed by the port poll
    assert not window.transport.is_playing
    assert [n[0] for n in track_notes(window)] == [60, 67]
    assert all(d > 0 for _p, _s, d in track_notes(window))
    text = recorder.indicator.text()
    assert "Keystation 49 was disconnected" in text and "2 notes recorded into Piano" in text
    assert window.isVisible()
    window.document.undo_stack.undo()
    assert track_notes(window) == []
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)  # nothing to record from now
    assert recorder.state == IDLE and NO_PORTS in recorder.indicator.text()
    midi.plug("Keystation 49")  # back: it is opened again by itself
    qtbot.waitUntil(lambda: recorder.midi.name == "Keystation 49", timeout=3000)
    assert recorder.indicator.text() == "The MIDI input Keystation 49 is back."
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == RECORDING


def test_recording_commands_are_in_the_transport_menu_with_unique_keys(rig):
    window, _recorder, _midi, _sound = rig()
    ids = [c.id for c in window.commands.commands()]
    for command_id in ("transport.record", "transport.step_input", "transport.count_in",
                       "transport.metronome", "transport.quantize_input"):  # fmt: skip
        assert command_id in ids
    keys = [k for c in window.commands.commands() for k in c.shortcut_text().split(", ") if k]
    assert len(keys) == len(set(keys))
    assert window.commands.command("transport.record").shortcut_text() == "R"


def test_a_take_keeps_notes_that_were_in_the_track(rig, qtbot):
    window, _recorder, midi, sound = rig()
    window.document.push(edits.AddNotes(0, Notes([48], [0], [960])))
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    crank(window, sound, 10)
    key(qtbot, window, midi, "note_on", 72)
    crank(window, sound, 10)
    key(qtbot, window, midi, "note_off", 72)
    window.commands.trigger("transport.stop")
    assert [n[0] for n in track_notes(window)] == [48, 72]


def test_a_message_the_gui_got_late_is_placed_where_the_key_was_played(rig, qtbot):
    window, _recorder, midi, sound = rig()  # 120 bpm: 960 ticks a second
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    crank(window, sound, 40)
    now = window.document.playhead
    key(qtbot, window, midi, "note_on", 60, late=0.1)  # delivered 100 ms after the key
    crank(window, sound, 10)
    key(qtbot, window, midi, "note_off", 60)
    window.commands.trigger("transport.stop")
    assert track_notes(window)[0][1] == pytest.approx(now - 96, abs=1)


def test_step_input_follows_the_snap_chosen_meanwhile(rig, qtbot):
    window, recorder, midi, _sound = rig()
    snap = window.editor.toolbar.snap
    snap.setCurrentIndex(snap.findText("1/8"))
    window.transport.play()  # step input stops the music: the cursor must not run away
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert not window.transport.is_playing and window.document.playhead == 0
    assert recorder.indicator.text() == "Step input · 1/8 steps"
    key(qtbot, window, midi, "note_on", 60)
    key(qtbot, window, midi, "note_off", 60)
    snap.setCurrentIndex(snap.findText("1/4"))
    key(qtbot, window, midi, "note_on", 62)
    key(qtbot, window, midi, "note_off", 62)
    assert track_notes(window) == [(60, 0, 240), (62, 240, 480)]
    assert recorder.indicator.text() == "Step input · 1/4 steps"
    assert window.document.playhead == 720


def test_stop_during_the_count_in_cancels_the_take(rig, qtbot):
    window, recorder, _midi, sound = rig(count_in_bars=1)
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == COUNT_IN
    crank(window, sound, 5)
    window.commands.trigger("transport.stop")
    assert recorder.state == IDLE and recorder.indicator.text().startswith("Recording cancelled")
    crank(window, sound, 3)
    assert np.abs(crank(window, sound, 10)).max() == 0.0  # the remaining clicks are gone
    qtbot.wait(2200)  # past the end of the count-in: nothing starts
    assert not window.transport.is_playing and not window.document.modified


def test_recording_over_a_loop_adds_each_pass(rig, qtbot):
    window, _recorder, midi, sound = rig()  # 120 bpm: a 1-bar loop lasts 2 s
    window.document.set_loop(0, 1920)
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    crank(window, sound, 20)
    first = window.document.playhead
    key(qtbot, window, midi, "note_on", 60)
    crank(window, sound, 5)
    key(qtbot, window, midi, "note_off", 60)
    crank(window, sound, 86)  # about 2 s on: the second pass
    second = window.document.playhead
    assert second < first + 1000  # playback jumped back
    key(qtbot, window, midi, "note_on", 64)
    crank(window, sound, 5)
    key(qtbot, window, midi, "note_off", 64)
    window.commands.trigger("transport.stop")
    notes = track_notes(window)
    assert sorted(n[0] for n in notes) == [60, 64]
    assert all(0 <= start < 1920 and 0 < length < 400 for _p, start, length in notes)


@pytest.mark.skipif(os.path.exists("/dev/snd/seq"), reason="this machine has a MIDI service")
def test_on_a_machine_without_a_midi_service_the_app_says_so(rig, qtbot):
    window, recorder, _midi, _sound = rig(ports=None)  # the real rtmidi backend
    dialog = AudioSettingsDialog(window.transport, window)
    qtbot.addWidget(dialog)
    reason = dialog.page.midi_status.text()
    assert reason.startswith("No MIDI input") or reason == NEEDS_RTMIDI
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    assert recorder.state == IDLE and reason in recorder.indicator.text()
    assert window.isVisible()


def test_the_downbeat_after_the_count_in_is_on_the_beat(rig, qtbot):
    """Four clicks a beat apart, then the music one beat after the last: sample-exact,
    however late the GUI thread wakes up for the downbeat."""
    window, recorder, _midi, sound = rig(bpm=240.0, count_in_bars=1)  # a beat = 11025 frames
    window.document.push(edits.InsertTracks((1,), (Track("Bass", notes=Notes([40], [0], [480])),)))
    window.document.set_active_track(0)
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_R)
    heard = [crank(window, sound, 41)]  # ~0.95 s of the 1 s count-in has been heard
    qtbot.waitUntil(lambda: recorder.state == RECORDING, timeout=3000)
    heard.append(crank(window, sound, 8))
    loud = np.nonzero(np.abs(np.concatenate(heard)[:, 0]) > 1e-4)[0]
    onsets = [int(loud[0])] + [int(k) for j, k in itertools.pairwise(loud) if k - j > 1000]
    assert onsets[:4] == pytest.approx([0, 11025, 22050, 33075], abs=3)  # the clicks
    assert onsets[4] == pytest.approx(44100, abs=3)  # the music, with the metronome
