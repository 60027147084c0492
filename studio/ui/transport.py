"""The Qt shell around the audio engine: transport controller and transport bar.

`TransportController` owns the audio stream and the `Player`; it listens to the
document (edits, mute/solo, loop, playhead moves, pitch previews) and moves the
document's playhead from the stream's DAC clock with a QTimer. `TransportBar` is the
toolbar the composer sees: play/pause, stop, loop, position, tempo and, when there is
no sound, the reason why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolBar, QToolButton, QWidget

from studio.audio.player import Player
from studio.audio.stream import (
    AudioBackend,
    AudioStream,
    DeviceScan,
    OutputDevice,
    SoundDeviceBackend,
    StreamError,
)
from studio.audio.synth import SAMPLE_RATES, Synth, TrackMix
from studio.audio.transport import PlayState
from studio.core.song import Song
from studio.ui.document import SongDocument
from studio.ui.icons import icon
from studio.ui.recent import suggest_path

FRAME_MS = 30  # playhead refresh: ~33 fps is smooth and cheap
FLASH_MS = 1500  # how long a refused Play highlights the notice
FLASH_STYLE = "color: #1e1e1e; background: #ffb74d; border-radius: 3px; padding: 0 4px;"
IDLE_CLOSE_S = 10.0  # release the sound card after this long without sound
DEVICE_BLOCK = 1024


@dataclass(frozen=True)
class TransportActions:
    """The registry's QActions the transport bar shows."""

    play: QAction
    stop: QAction
    loop: QAction
    settings: QAction


@dataclass
class AudioSettings:
    """Preferences ▸ Audio, stored in QSettings group "audio"."""

    device: str = ""  # empty: the system default output
    sample_rate: int = 44100
    soundfont: str = ""  # empty: the built-in synthesizer

    @classmethod
    def load(cls) -> AudioSettings:
        settings = QSettings()
        settings.beginGroup("audio")
        device = str(settings.value("device", "", type=str) or "")
        rate = int(settings.value("sample_rate", 44100, type=int) or 44100)
        soundfont = str(settings.value("soundfont", "", type=str) or "")
        settings.endGroup()
        return cls(device, rate if rate in SAMPLE_RATES else 44100, soundfont)

    def save(self) -> None:
        settings = QSettings()
        settings.beginGroup("audio")
        settings.setValue("device", self.device)
        settings.setValue("sample_rate", int(self.sample_rate))
        settings.setValue("soundfont", self.soundfont)
        settings.endGroup()


def format_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    minutes = int(seconds // 60)
    return f"{minutes:02d}:{seconds - 60 * minutes:04.1f}"


class TransportController(QObject):
    """Plays the document: stream, player, clock-driven playhead, previews, export."""

    stateChanged = Signal(str)  # "playing", "paused", "stopped"
    positionChanged = Signal(float)  # ticks
    statusChanged = Signal(str)  # why there is no sound / a notice; "" when all is well
    devicesChanged = Signal()
    playRefused = Signal(str)  # Play (or an audition) was pressed and cannot sound: why

    def __init__(
        self,
        document: SongDocument,
        parent: QObject | None = None,
        *,
        backend: AudioBackend | None = None,
        settings: AudioSettings | None = None,
        threaded: bool = True,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.backend: AudioBackend = backend or SoundDeviceBackend()
        self.settings = settings or AudioSettings.load()
        self.threaded = threaded
        self.follow: Callable[[int], None] | None = None  # auto-scroll hook (the editor)
        self.mix: dict[int, TrackMix] = {}
        self.loop_enabled = True
        self.notice = ""
        self.stream: AudioStream | None = None
        self.device: OutputDevice | None = None
        self.scan: DeviceScan = self.backend.scan(False)
        self._moving_playhead = False
        self._idle_s = 0.0
        self._closed = False
        self._soundfont_notice = ""
        self._auditioning = False  # playing a song that is not the document (a preview)
        self.player = self._make_player(self.settings.sample_rate)

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._on_frame)

        document.changed.connect(self._song_changed)
        document.tracksChanged.connect(self._song_changed)
        document.loopChanged.connect(self._loop_changed)
        document.playheadChanged.connect(self._playhead_moved)
        document.previewRequested.connect(self.preview)

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> PlayState:
        return self.player.state

    @property
    def is_playing(self) -> bool:
        return self.player.state is PlayState.PLAYING

    @property
    def sample_rate(self) -> int:
        return self.player.sample_rate

    @property
    def reason(self) -> str:
        """Why nothing can be heard ("" when a device is available)."""
        return self.scan.reason

    @property
    def status(self) -> str:
        return self.reason or self.notice

    def position_tick(self) -> float:
        return self.player.playhead_tick(self._now())

    @property
    def device_summary(self) -> str:
        """ "Device · 44.1 kHz · 12 ms" while a stream is open (the latency the playhead
        compensates), else ""."""
        if self.stream is None or self.device is None:
            return ""
        try:
            latency = float(self.stream.latency)
        except Exception:
            latency = 0.0
        rate = self.player.sample_rate / 1000.0
        return f"{self.device.name} · {rate:g} kHz · {latency * 1000:.0f} ms"

    # -- commands -----------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.is_playing:
            self.pause()
        else:
            self.play()

    def play(self, after: tuple[list, int] | None = None) -> bool:
        """Play from the document's playhead (resume if it has not moved since Pause).

        `after` = (handle from `sound`, frames): the music starts exactly that many frames
        after that sound began (a count-in's downbeat).
        """
        if self._auditioning:
            self._end_audition()
        if not self._ensure_stream():
            self._refused()
            return False
        tick = self.document.playhead
        transport = self.player.transport
        resume = transport.state is PlayState.PAUSED and abs(transport.position_tick - tick) < 1.0
        if after is not None:
            self.player.play_after(after[0], after[1], tick)
        else:
            self.player.play(None if resume else tick)
        self._idle_s = 0.0
        self.timer.start()
        self.stateChanged.emit("playing")
        return True

    def pause(self) -> None:
        if not self.is_playing:
            return
        self.player.pause(self._now())
        self._show_tick(self.player.transport.position_tick)
        self.stateChanged.emit("paused")

    def play_song(self, song: Song) -> bool:
        """Audition a song that is not the open one (a training preview, a variation).

        It plays from its start; the document's playhead stays where it is, and the open
        song is playing again as soon as the audition stops or ends.
        """
        if not self._ensure_stream():
            self._refused()
            return False
        self.player.stop()
        self._auditioning = True
        self.player.set_loop(None)
        self.player.set_song(song)
        self.player.play(0)
        self._idle_s = 0.0
        self.timer.start()
        self.stateChanged.emit("playing")
        return True

    @property
    def is_auditioning(self) -> bool:
        return self._auditioning

    def _end_audition(self) -> None:
        self._auditioning = False
        self.player.stop()
        self.player.set_song(self.document.song)
        self._loop_changed()

    def stop(self) -> None:
        if self._auditioning:
            self._end_audition()
            self.stateChanged.emit("stopped")
            return
        was = self.player.state
        self.player.stop()
        if was is not PlayState.STOPPED or self.document.playhead != 0:
            self._show_tick(self.player.transport.position_tick)
        self.stateChanged.emit("stopped")

    def set_loop_enabled(self, enabled: bool) -> None:
        self.loop_enabled = bool(enabled)
        self._loop_changed()

    def set_track_mix(self, index: int, gain: float = 1.0, pan: float = 0.0) -> None:
        """Per-track level and pan (heard at the next buffer)."""
        self.mix[int(index)] = TrackMix(gain, pan)
        self.player.set_mix(self.mix)

    def preview(self, track: int, pitch: int, velocity: int = 100) -> None:
        """Sound a pitch briefly on a track's instrument (silently skipped without a device)."""
        song = self.document.song
        if not 0 <= pitch <= 127:
            return
        program, is_drum = 0, False
        if 0 <= track < len(song.tracks):
            program, is_drum = song.tracks[track].program, song.tracks[track].is_drum
        if not self._ensure_stream(quiet=True):
            return
        self.player.preview(program, is_drum, int(pitch), max(1, min(127, int(velocity))))
        self._idle_s = 0.0
        self.timer.start()

    def sound(self, audio: np.ndarray) -> list | None:
        """Play rendered audio now, over the music: a key held on a MIDI keyboard, the
        count-in. Returns the handle for `player.release`; None without a device."""
        if not self._ensure_stream(quiet=True):
            return None
        self._idle_s = 0.0
        self.timer.start()
        return self.player.hold(audio)

    # -- devices and settings ----------------------------------------------------------------------
    def rescan(self) -> DeviceScan:
        """Look for devices again (a sound card plugged in since start-up)."""
        self.stop()
        self._close_stream()
        self.scan = self.backend.scan(True)
        self.devicesChanged.emit()
        self.statusChanged.emit(self.status)
        return self.scan

    def apply_settings(self, settings: AudioSettings) -> None:
        """New device / sample rate / SoundFont from Preferences, without a restart."""
        settings.save()
        self.stop()
        self._close_stream()
        self.settings = settings
        self.notice = ""
        self.player.close()
        self.player = self._make_player(settings.sample_rate)
        self.devicesChanged.emit()
        self.statusChanged.emit(self.status)

    def shutdown(self) -> None:
        """Stop the sound and the render thread (window closing)."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        with contextlib.suppress(Exception):
            self.player.stop()
        self._close_stream()
        self.player.close()

    def export_synth(self, sample_rate: int) -> Synth:
        """A fresh synth for an export: the chosen SoundFont if it loads, else built-in."""
        notice = self._soundfont_notice
        try:
            return self._make_synth(sample_rate)
        finally:
            self._soundfont_notice = notice

    # -- internals ---------------------------------------------------------------------------------
    def _refused(self) -> None:
        """Say why nothing plays at the moment the composer asked (not only in the bar)."""
        self.playRefused.emit(self.status or "No audio output: nothing can be played.")

    def _make_player(self, sample_rate: int) -> Player:
        synth = self._make_synth(sample_rate)
        player = Player(
            self.document.song,
            sample_rate,
            synth=synth,
            device_block=DEVICE_BLOCK,
            threaded=self.threaded,
        )
        player.set_loop(self.document.loop if self.loop_enabled else None)
        player.set_mix(self.mix)
        return player

    def _make_synth(self, sample_rate: int) -> Synth:
        self._soundfont_notice = ""
        if self.settings.soundfont:
            from studio.audio.soundfont import SoundFontError, SoundFontSynth

            try:
                return SoundFontSynth(self.settings.soundfont, sample_rate)
            except SoundFontError as exc:
                self._soundfont_notice = f"{exc} Using the built-in synthesizer."
        return Synth(sample_rate)

    def _ensure_stream(self, quiet: bool = False) -> bool:
        if self.stream is not None:
            if not self.stream.active:
                with contextlib.suppress(Exception):
                    self.stream.start()
            return True
        if not self.scan.ok:
            # Maybe a device was plugged in since: look again before giving up.
            self.scan = self.backend.scan(True)
            self.devicesChanged.emit()
        device = self.scan.find(self.settings.device)
        if device is None or not self.scan.ok:
            if not quiet:
                self.statusChanged.emit(self.status)
            return False
        rate, rate_notice = self.backend.choose_rate(device, self.settings.sample_rate)
        if rate != self.player.sample_rate:
            self.player.close()
            self.player = self._make_player(rate)
        try:
            stream = self.backend.open(device, rate, self.player.callback, DEVICE_BLOCK)
            stream.start()
        except (StreamError, Exception) as exc:  # a device can fail in many ways
            self.notice = str(exc) if isinstance(exc, StreamError) else f"Cannot play: {exc}"
            self.statusChanged.emit(self.status)
            return False
        self.stream = stream
        self.device = device
        notices = [n for n in (rate_notice, self._soundfont_notice) if n]
        if self.settings.device and device.name != self.settings.device:
            notices.append(f"{self.settings.device} is not connected; playing on {device.name}.")
        self.notice = " ".join(notices)
        self.statusChanged.emit(self.status)
        return True

    def _close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is None:
            return
        with contextlib.suppress(Exception):
            stream.stop()
        with contextlib.suppress(Exception):
            stream.close()

    def _now(self) -> float | None:
        if self.stream is None:
            return None
        try:
            return float(self.stream.time)
        except Exception:
            return None

    def _show_tick(self, tick: float) -> None:
        self._moving_playhead = True
        try:
            self.document.set_playhead(round(tick))
        finally:
            self._moving_playhead = False
        self.positionChanged.emit(float(tick))

    def _on_frame(self) -> None:
        if self.stream is not None and not self.stream.active and self.is_playing:
            # The device went away under us (unplugged, suspended).
            self.player.stop()
            self._close_stream()
            self.notice = "The audio device stopped. Press Play to continue or Rescan."
            self.statusChanged.emit(self.status)
            self.stateChanged.emit("stopped")
        if self.is_playing:
            if self.player.finished:
                self.stop()
                return
            if self._auditioning:  # the document's playhead is not where this sound is
                self._idle_s = 0.0
                return
            tick = self.player.playhead_tick(self._now())
            self._show_tick(tick)
            if self.follow is not None:
                self.follow(round(tick))
            self._idle_s = 0.0
            return
        if self.player.previewing:
            self._idle_s = 0.0
            return
        self._idle_s += FRAME_MS / 1000.0
        if self._idle_s >= IDLE_CLOSE_S:
            self.timer.stop()
            if self.stream is not None:
                with contextlib.suppress(Exception):
                    self.stream.stop()

    def _song_changed(self) -> None:
        if not self._auditioning:  # picked up when the audition ends
            self.player.set_song(self.document.song)

    def _loop_changed(self) -> None:
        if self._auditioning:
            return
        self.player.set_loop(self.document.loop if self.loop_enabled else None)

    def _playhead_moved(self, tick: int) -> None:
        if self._moving_playhead:
            return
        if self._auditioning:  # back to the open song, from where the composer clicked
            self._end_audition()
            self.stateChanged.emit("stopped")
        # The composer clicked the ruler: jump there (and keep playing if playing).
        self.player.seek(tick)
        self.positionChanged.emit(float(tick))


class TransportBar(QToolBar):
    """Play/pause, stop, loop, position (bar:beat and time), tempo and device status.

    The buttons are the registry's transport commands (``TransportActions``), so the bar,
    the Transport menu and the keys are one and the same action.
    """

    def __init__(
        self,
        controller: TransportController,
        actions: TransportActions,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Transport", parent)
        self.setObjectName("TransportBar")
        self.setIconSize(QSize(20, 20))
        self.setMovable(False)
        self.controller = controller
        self.play_action = actions.play
        self.stop_action = actions.stop
        self.loop_action = actions.loop
        for action in (self.play_action, self.stop_action, self.loop_action):
            self.addAction(action)
        self.addSeparator()

        self.position_label = QLabel(self)
        self.position_label.setObjectName("TransportPosition")
        self.position_label.setMinimumWidth(150)
        self.position_label.setToolTip("Bar:beat and time of the playhead")
        font = self.position_label.font()
        font.setFamily("monospace")
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.position_label.setFont(font)
        self.addWidget(self.position_label)
        self.tempo_label = QLabel(self)
        self.tempo_label.setToolTip("Tempo at the playhead (from the song)")
        self.addWidget(self.tempo_label)
        self.addSeparator()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("TransportStatus")
        self.status_label.setWordWrap(False)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.addWidget(self.status_label)
        self.device_label = QLabel(self)
        self.device_label.setObjectName("TransportDevice")
        self.device_label.setStyleSheet("color: #8a93a3;")
        self.device_label.setToolTip("Output device, sample rate and output latency")
        self.addWidget(self.device_label)
        self.rescan_button = QToolButton(self)
        self.rescan_button.setText("Rescan")
        self.rescan_button.setToolTip("Look for audio devices again (no restart needed)")
        self.rescan_button.clicked.connect(controller.rescan)
        self.rescan_action = self.addWidget(self.rescan_button)
        self.settings_button = self.addAction(actions.settings)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.setInterval(FLASH_MS)
        self._flash_timer.timeout.connect(lambda: self._on_status(self.controller.status))

        controller.stateChanged.connect(self._on_state)
        controller.positionChanged.connect(self._on_position)
        controller.statusChanged.connect(self._on_status)
        controller.playRefused.connect(self.flash_notice)
        controller.devicesChanged.connect(lambda: self._on_status(controller.status))
        controller.document.changed.connect(lambda: self._on_position(controller.position_tick()))
        self._on_state("stopped")
        self._on_position(float(controller.document.playhead))
        self._on_status(controller.status)

    def _on_state(self, state: str) -> None:
        playing = state == "playing"
        self.play_action.setIcon(icon("pause" if playing else "play"))
        self.play_action.setText("Pause" if playing else "Play")

    def _on_position(self, tick: float) -> None:
        transport = self.controller.player.transport
        bar, beat, _ = transport.bar_beat(tick)
        seconds = float(self.controller.document.song.tick_to_seconds(max(0.0, tick)))
        self.position_label.setText(f"{bar:>4}:{beat}  {format_time(seconds)}")
        self.tempo_label.setText(f"♩ = {transport.tempo_at(tick):g}")

    def flash_notice(self, text: str) -> None:
        """Show why Play did nothing, highlighted for a moment so the eye catches it."""
        self._on_status(text)
        self.status_label.setStyleSheet(FLASH_STYLE)
        self._flash_timer.start()

    @property
    def is_flashing(self) -> bool:
        return self._flash_timer.isActive()

    def _on_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text)
        no_device = bool(self.controller.reason)
        self.status_label.setStyleSheet("color: #ffb74d;" if text else "")
        self.device_label.setText(self.controller.device_summary)
        self.rescan_action.setVisible(no_device)
        self.play_action.setEnabled(True)  # Play retries the device scan


def suggest_wav_path(document: SongDocument) -> str:
    """Beside the open file, or in the last folder used (never in the bundled data)."""
    return suggest_path(document.path, document.song.title, ".wav")
