"""Transport in the window: Space plays, the playhead follows a fake DAC clock, no-device
state explains itself, export and previews work, settings apply without a restart."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from studio.audio.stream import DeviceScan, OutputDevice
from studio.audio.testing import ManualStream
from studio.audio.wav import read_wav
from studio.core import edits
from studio.core.song import Notes, Song, Track
from studio.ui.audio_dialogs import AudioSettingsDialog, ExportChoice
from studio.ui.main_window import MainWindow, WindowParts
from studio.ui.transport import AudioSettings

SR = 44100
NO_DEVICE = "No audio: no output device found. Connect one and press Rescan."


class FakeBackend:
    """A sound system with a hand-cranked clock; devices can be 'plugged in' later."""

    def __init__(self, connected: bool = True, rates: tuple[int, ...] = (44100, 48000)) -> None:
        self.connected = connected
        self.rates = rates
        self.streams: list[ManualStream] = []
        self.refreshes = 0

    def scan(self, refresh: bool = False) -> DeviceScan:
        self.refreshes += int(refresh)
        if not self.connected:
            return DeviceScan((), NO_DEVICE)
        return DeviceScan((OutputDevice(3, "Studio Monitors", "ALSA", 2, 48000, True),))

    def choose_rate(self, device: OutputDevice, wanted: int) -> tuple[int, str]:
        if wanted in self.rates:
            return wanted, ""
        return self.rates[0], f"{device.name} does not play {wanted} Hz; using {self.rates[0]} Hz"

    def open(self, device, sample_rate, callback, blocksize):
        stream = ManualStream(callback, sample_rate, blocksize, latency=0.05)
        self.streams.append(stream)
        return stream


def chorale() -> Song:
    beats = np.arange(32)
    voices = [(72, 52), (67, 52), (60, 52), (48, 52)]
    tracks = [
        Track(name, program=program, notes=Notes(base + beats % 5, beats * 480, np.full(32, 460)))
        for name, (base, program) in zip("SATB", voices, strict=True)
    ]
    return Song("Chorale", tracks=tracks)


@pytest.fixture
def rig(qtbot):
    def make(connected: bool = True, **kw):
        backend = FakeBackend(connected, **kw)
        parts = WindowParts(audio=True, audio_backend=backend, threaded_audio=False)
        window = MainWindow(parts=parts)
        window.maybe_save = lambda: True  # closing after edits must not ask "save changes?"
        qtbot.addWidget(window)
        controller = window.transport
        window.set_song(chorale())
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
        window.editor.canvas.setFocus()
        made.append((window, controller))
        return window, controller, backend

    made: list = []
    yield make
    for _window, controller in made:
        controller.shutdown()


def crank(controller, backend, buffers: int) -> np.ndarray:
    """Let the 'sound card' play `buffers` buffers, then run one playhead frame."""
    out = []
    for _ in range(buffers):
        controller.player.fill()
        out.append(backend.streams[-1].pump())
    controller._on_frame()
    return np.concatenate(out)


def test_space_plays_and_the_playhead_follows_the_dac_clock(rig, qtbot):
    window, controller, backend = rig()
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_Space)
    assert controller.is_playing
    assert window.findChild(type(window.transport_bar)).play_action.text() == "Pause"
    heard = crank(controller, backend, 43)  # 43 * 1024 frames ~ 1 s of stream time
    assert np.abs(heard).max() > 0.01
    stream = backend.streams[-1]
    # The playhead is where the DAC is: stream clock minus the reported latency.
    expected_seconds = stream.time - stream.latency
    expected_tick = expected_seconds * 960  # 120 bpm, 480 ticks per beat
    assert window.document.playhead == pytest.approx(expected_tick, abs=2)
    assert "0:" in window.transport_bar.position_label.text()
    assert window.transport_bar.position_label.text().strip().startswith("1:2")  # bar 1, beat 2
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_Space)
    assert controller.state.value == "paused"
    paused_at = window.document.playhead
    crank(controller, backend, 5)
    assert window.document.playhead == paused_at


def test_auto_scroll_follows_unless_the_user_drags(rig, monkeypatch):
    window, controller, backend = rig()
    seen: list[int] = []
    monkeypatch.setattr(window.editor, "ensure_tick_visible", seen.append)
    controller.play()
    crank(controller, backend, 10)
    assert seen and seen[-1] == window.document.playhead
    seen.clear()
    monkeypatch.setattr(type(window.editor), "user_is_dragging", property(lambda self: True))
    crank(controller, backend, 10)
    assert not seen


def test_clicking_the_ruler_while_playing_jumps_there(rig):
    window, controller, backend = rig()
    controller.play()
    crank(controller, backend, 5)
    window.document.set_playhead(4 * 480 * 4)  # bar 5
    crank(controller, backend, 10)
    assert window.document.playhead > 4 * 480 * 4
    assert window.transport_bar.position_label.text().strip().startswith("5:")


def test_mute_during_playback_is_heard_within_a_few_buffers(rig):
    window, controller, backend = rig()
    controller.play()
    crank(controller, backend, 8)
    for index in range(4):  # the track list's M buttons push exactly this edit
        window.document.push(edits.SetTrackProperty(index, "mute", True))
    heard = crank(controller, backend, 8)
    assert not heard[3 * 1024 :].any()
    window.document.undo_stack.undo()  # un-mute the bass: heard again at once
    assert np.abs(crank(controller, backend, 8)[3 * 1024 :]).max() > 0.01


def test_song_end_stops_and_returns_to_the_start(rig):
    window, controller, backend = rig()
    window.set_song(Song("short", tracks=[Track("p", notes=Notes([60], [0], [240]))]))
    controller.play()
    crank(controller, backend, 40)
    assert controller.state.value == "stopped"
    assert window.document.playhead == 0


def test_auditioning_another_song_leaves_the_document_alone_then_returns_to_it(rig):
    window, controller, backend = rig()
    window.document.set_playhead(4 * 480 * 4)  # bar 5 of the open song
    preview = Song("preview", tracks=[Track("p", program=0, notes=Notes([69], [0], [960]))])
    assert controller.play_song(preview)
    assert controller.is_playing and controller.is_auditioning
    heard = crank(controller, backend, 10)
    # The preview's A4 (440 Hz) is what sounds, not the open chorale.
    spectrum = np.abs(np.fft.rfft(heard[:, 0]))
    freqs = np.fft.rfftfreq(len(heard), 1 / SR)
    assert 400 < freqs[spectrum[20:].argmax() + 20] < 480
    assert window.document.playhead == 4 * 480 * 4  # the playhead did not move
    crank(controller, backend, 60)  # the one-note preview ends by itself
    assert controller.state.value == "stopped" and not controller.is_auditioning
    assert window.document.playhead == 4 * 480 * 4
    # Play goes back to the open song, from the playhead.
    controller.play()
    assert controller.player.song is window.document.song
    crank(controller, backend, 5)
    assert window.document.playhead > 4 * 480 * 4


def test_the_panels_audition_through_the_transport(rig):
    from studio.ui.panels import _player

    _window, controller, _backend = rig()
    play = _player(controller)
    assert play is not None
    play(Song("preview", tracks=[Track("p", notes=Notes([60], [0], [480]))]))
    assert controller.is_auditioning


def test_pitch_preview_sounds_on_the_active_track(rig):
    window, controller, backend = rig()
    window.document.request_preview(64, 100)
    assert backend.streams, "a preview opens the stream"
    heard = crank(controller, backend, 10)
    assert np.abs(heard).max() > 0.01
    assert not controller.is_playing


def test_no_device_shows_why_and_export_still_works(rig, qtbot, tmp_path):
    window, controller, _backend = rig(connected=False)
    bar = window.transport_bar
    assert bar.status_label.text() == NO_DEVICE
    assert bar.rescan_action.isVisible()  # the Rescan button is offered
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_Space)
    assert not controller.is_playing
    assert bar.status_label.text() == NO_DEVICE
    # Export Audio works without any sound card.
    target = tmp_path / "chorale.wav"
    handle = window.audio.start_export(ExportChoice(str(target), False, SR, False))
    with qtbot.waitSignal(handle.finished, timeout=30000):
        pass
    audio, rate = read_wav(target)
    assert rate == SR and audio.shape[1] == 2
    assert len(audio) / SR == pytest.approx(16.0 + 0.22, abs=0.1)  # 32 beats + release
    assert np.abs(audio).max() > 0.05
    assert window.audio.last_export == str(target)


def test_play_without_a_device_says_so_at_that_moment(rig, qtbot):
    window, controller, _backend = rig(connected=False)
    bar = window.transport_bar
    window.statusBar().clearMessage()
    assert not bar.is_flashing
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_Space)
    assert not controller.is_playing
    assert window.statusBar().currentMessage() == NO_DEVICE
    assert bar.is_flashing and "background" in bar.status_label.styleSheet()
    qtbot.waitUntil(lambda: not bar.is_flashing, timeout=3000)
    assert bar.status_label.text() == NO_DEVICE  # the lasting notice stays
    # Auditioning a variation from a panel says the same.
    window.statusBar().clearMessage()
    assert not controller.play_song(chorale())
    assert window.statusBar().currentMessage() == NO_DEVICE and bar.is_flashing


def test_export_loop_region_has_the_exact_length(rig, qtbot, tmp_path):
    window, _controller, _backend = rig()
    window.document.set_loop(960, 2880)  # one bar at 120 bpm: 2 s
    target = tmp_path / "loop.wav"
    handle = window.audio.start_export(ExportChoice(str(target), True, 48000, False))
    with qtbot.waitSignal(handle.finished, timeout=30000):
        pass
    audio, rate = read_wav(target)
    assert rate == 48000 and len(audio) == 2 * 48000


def test_device_plugged_in_later_plays_without_restart(rig, qtbot):
    window, controller, backend = rig(connected=False)
    assert not controller.play()
    backend.connected = True
    qtbot.mouseClick(window.transport_bar.rescan_button, Qt.MouseButton.LeftButton)
    assert window.transport_bar.status_label.text() == ""
    assert controller.play()
    assert np.abs(crank(controller, backend, 10)).max() > 0.01
    assert window.transport_bar.device_label.text() == "Studio Monitors · 44.1 kHz · 50 ms"


def test_sample_rate_mismatch_uses_a_rate_the_device_plays(rig):
    window, controller, backend = rig(rates=(48000,))
    assert controller.play()
    assert controller.sample_rate == 48000
    assert "48000 Hz" in window.transport_bar.status_label.text()
    assert np.abs(crank(controller, backend, 10)).max() > 0.01


def test_loop_toggle_and_loop_region(rig):
    window, controller, backend = rig()
    window.document.set_loop(0, 960)
    assert controller.player.transport.loop_ticks == (0, 960)
    window.transport_bar.loop_action.trigger()  # the Loop button
    assert controller.player.transport.loop_ticks is None
    assert not window.actions_by_id["transport.loop"].isChecked()
    window.transport_bar.loop_action.trigger()
    controller.play()
    crank(controller, backend, 60)  # 1.4 s > the 1 s loop
    assert window.document.playhead < 960


def test_audio_settings_apply_without_restart(rig, qtbot):
    window, controller, backend = rig()
    dialog = AudioSettingsDialog(controller, window)
    qtbot.addWidget(dialog)
    page = dialog.page
    assert page.device.count() == 2  # system default + the fake device
    page.device.setCurrentIndex(1)
    page.rate.setCurrentIndex(page.rate.findData(48000))
    page.apply()
    assert controller.sample_rate == 48000
    saved = AudioSettings.load()
    assert (saved.device, saved.sample_rate) == ("Studio Monitors", 48000)
    assert QSettings().value("audio/sample_rate", type=int) == 48000
    assert controller.play()
    assert backend.streams[-1].samplerate == 48000


def test_broken_soundfont_falls_back_with_a_notice(rig, tmp_path):
    bad = tmp_path / "broken.sf2"
    bad.write_bytes(b"not a soundfont")
    window, controller, backend = rig()
    controller.apply_settings(AudioSettings(soundfont=str(bad)))
    assert controller.play()
    assert "built-in synthesizer" in window.transport_bar.status_label.text()
    assert np.abs(crank(controller, backend, 10)).max() > 0.01


def test_menus_offer_export_and_transport(rig):
    window, _controller, _backend = rig()
    titles = [a.text() for a in window.menu("file").actions()]
    assert "Export Audio…" in titles
    assert window.actions_by_id["transport.play"].shortcut().toString() == "Space"


def test_no_two_actions_of_the_full_window_share_a_shortcut(rig):
    from PySide6.QtGui import QAction

    window, _controller, _backend = rig()
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            key = sequence.toString()
            if not key:
                continue
            assert key not in seen, f"{key} is both {seen[key]!r} and {action.text()!r}"
            seen[key] = action.text()
    assert seen.get("Space") and seen.get("Ctrl+L")


def test_the_shortcuts_dialog_lists_the_transport_keys_too(rig):
    window, _controller, _backend = rig()
    dialog = window.show_shortcuts()
    rows = dict(dialog.rows())
    dialog.close()
    assert any(key == "Space" for key in rows.values())
    assert "Ctrl+L" in rows.values() and "Ctrl+Shift+E" in rows.values()
    assert len(rows) == len(dialog.rows())  # no command listed twice
