"""Recording from a MIDI keyboard, the Qt shell: the input port, Record, step input.

`MidiInput` keeps the chosen port open and hands each key event from the MIDI library's
thread to the GUI thread through a queued signal (the only bridge between the two), and
notices a port that disappears. `Recorder` plays what comes in through the synth, records
takes into the active track from the playhead (count-in, metronome, quantize on input:
one undo step per take) and runs step input. The musical logic is `studio.core.recording`;
the clicks are `studio.audio.metronome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QLabel, QToolBar, QWidget

from studio.audio.live import HeldNoteCache
from studio.audio.metronome import Metronome, count_in
from studio.audio.midi_input import (
    KeyEvent,
    MidiBackend,
    MidiInputError,
    MidiSource,
    PortScan,
    RtMidiBackend,
    key_event,
)
from studio.core import edits
from studio.core.quantize import SNAP_DIVISIONS
from studio.core.recording import StepInput, TakeRecorder, quantize_take
from studio.core.song import Notes
from studio.ui.commands import Command, CommandRegistry
from studio.ui.document import SongDocument
from studio.ui.transport import TransportController

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

POLL_MS = 1000  # how often an open port is checked for having gone away
COUNT_IN_EARLY_MS = 80  # the count-in timer's margin for a late-waking GUI thread
IDLE, COUNT_IN, RECORDING = "idle", "count-in", "recording"
REC_STYLE = "color: #ffffff; background: #c62828; border-radius: 3px; padding: 0 6px;"
STEP_STYLE = "color: #1e1e1e; background: #ffb74d; border-radius: 3px; padding: 0 6px;"
NOTICE_STYLE = "color: #ffb74d;"


# -- settings -----------------------------------------------------------------------------------
@dataclass
class RecordingOptions:
    """Transport ▸ Count-in / Metronome / Quantize Input, and the MIDI port, in QSettings."""

    port: str = ""  # "" = automatic: the first keyboard found
    monitor: bool = True  # play what comes in through Pianola's synth
    count_in_bars: int = 1  # 0 = off
    metronome: bool = True
    quantize: bool = False

    @classmethod
    def load(cls) -> RecordingOptions:
        s = QSettings()
        s.beginGroup("recording")
        options = cls(
            port=str(s.value("port", "", type=str) or ""),
            monitor=bool(s.value("monitor", True, type=bool)),
            count_in_bars=max(0, min(4, int(s.value("count_in_bars", 1, type=int) or 0))),
            metronome=bool(s.value("metronome", True, type=bool)),
            quantize=bool(s.value("quantize", False, type=bool)),
        )
        s.endGroup()
        return options

    def save(self) -> None:
        s = QSettings()
        s.beginGroup("recording")
        s.setValue("port", self.port)
        s.setValue("monitor", self.monitor)
        s.setValue("count_in_bars", int(self.count_in_bars))
        s.setValue("metronome", self.metronome)
        s.setValue("quantize", self.quantize)
        s.endGroup()


# -- the port -------------------------------------------------------------------------------------
class _Bridge(QObject):
    """Lives in the GUI thread; `deliver` is called on the MIDI library's thread."""

    received = Signal(object, float)  # KeyEvent, perf_counter() at arrival

    def deliver(self, message: Any, stamp: float) -> None:
        event = key_event(message)  # MIDI clock and the like never reach the GUI thread
        if event is not None:
            self.received.emit(event, stamp)


class MidiInput(QObject):
    """The open MIDI input port, its choice and its health."""

    event = Signal(object, float)  # KeyEvent, stamp (GUI thread)
    portLost = Signal(str)  # the message for the composer
    portChanged = Signal(str)  # the open port's name, "" when closed
    reconnected = Signal(str)  # a lost port came back and is open again

    def __init__(
        self, backend: MidiBackend | None = None, port: str = "", parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.backend: MidiBackend = backend or RtMidiBackend()
        self.port = port  # the composer's choice ("" = automatic)
        self.source: MidiSource | None = None
        self.error = ""  # why the last open failed
        self._lost = ""  # the port that went away, while watching for it to return
        self._scan: PortScan | None = None  # scanned on first need: rtmidi is not free
        self._bridge = _Bridge(self)
        self._bridge.received.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.check)

    @property
    def scan(self) -> PortScan:
        if self._scan is None:
            self._scan = self.backend.scan()
        return self._scan

    def rescan(self) -> PortScan:
        self._scan = self.backend.scan()
        return self._scan

    @property
    def name(self) -> str:
        return self.source.name if self.source is not None else ""

    @property
    def reason(self) -> str:
        """Why no keyboard is heard ("" while a port is open)."""
        if self.source is not None:
            return ""
        if self.error:
            return self.error
        scan = self.scan
        if scan.reason:
            return scan.reason
        if self.port and scan.find(self.port) is None:
            return f"The MIDI input {self.port} is not connected. Connect it and press Rescan."
        return ""

    def set_port(self, port: str) -> bool:
        """Choose a port (Audio Settings) and open it now."""
        self.port = port
        self._lost = ""
        self.close()
        return self.ensure_open(rescan=True)

    def ensure_open(self, rescan: bool = False) -> bool:
        """Open the chosen port if it is not open (looking for it again first)."""
        if self.source is not None:
            return True
        fresh = rescan or self._scan is None or not self._scan.ok
        scan = self.rescan() if fresh else self.scan
        self.error = ""
        name = scan.find(self.port)
        if name is None and not fresh:  # the list may be stale: a keyboard plugged in since
            name = self.rescan().find(self.port)
        if name is None:
            return False
        try:
            self.source = self.backend.open(name, self._bridge.deliver)
        except MidiInputError as exc:
            self.error = str(exc)
            return False
        self.poll.start()
        self.portChanged.emit(name)
        return True

    def close(self) -> None:
        self.poll.stop()
        source, self.source = self.source, None
        if source is not None:
            source.close()
            self.portChanged.emit("")

    def check(self) -> bool:
        """Is the open port still there? If it went away, close it, say so, and keep
        looking for it: a keyboard plugged back in is opened again by itself."""
        if self.source is None:
            if self._lost and self.ensure_open(rescan=True):
                self._lost = ""
                self.reconnected.emit(self.name)
                return True
            return False
        scan = self.rescan()
        if self.source.name in scan.ports:
            return True
        name = self.source.name
        self.close()
        self._lost = name
        self.poll.start()  # watch for it to come back
        self.error = (
            f"The MIDI input {name} was disconnected. Plug it back in (Pianola opens it "
            "again by itself) or choose another in Audio Settings."
        )
        self.portLost.emit(self.error)
        return False

    def _on_event(self, event: KeyEvent, stamp: float) -> None:
        if self.source is not None:  # a message queued just before the port closed
            self.event.emit(event, stamp)


# -- record and step input -----------------------------------------------------------------------
class Recorder(QObject):
    """Record takes and step input from the MIDI input into the document's active track."""

    stateChanged = Signal(str)  # IDLE, COUNT_IN, RECORDING
    steppingChanged = Signal(bool)
    notesChanged = Signal(int)  # notes in the take so far
    notice = Signal(str)  # a message for the composer ("" clears it)

    def __init__(
        self,
        document: SongDocument,
        controller: TransportController,
        midi: MidiInput,
        grid: Callable[[], int],
        options: RecordingOptions | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.controller = controller
        self.midi = midi
        self.grid = grid  # the editor's snap length in ticks
        self.options = options or RecordingOptions.load()
        self.midi.port = self.options.port
        self.state = IDLE
        self.take: TakeRecorder | None = None
        self.steps: StepInput | None = None
        self.last_notice = ""
        self.clock: Callable[[], float] = time.perf_counter  # the clock MIDI stamps are in
        self.indicator: RecordIndicator | None = None  # on the transport bar, when there is one
        self._track = 0
        self._take_count = 0  # notes the take has added to its track
        self._track_gone = False
        self._macro_open = False  # the take's undo macro
        self._last_tick = 0.0  # where playback was last seen while recording
        self._cache: HeldNoteCache | None = None
        self._sounding: dict[int, list] = {}  # pitch -> player handle of a held key
        self._pedal = False
        self._pedalled: set[int] = set()
        self._count_sound: list | None = None  # the count-in clicks, while they sound
        self._count_frames = 0  # from the first click to the downbeat
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._count_timer.timeout.connect(self._begin_take)

        midi.event.connect(self._on_event)
        midi.portLost.connect(self._on_port_lost)
        midi.reconnected.connect(lambda name: self.say(f"The MIDI input {name} is back."))
        controller.stateChanged.connect(self._on_transport_state)
        controller.positionChanged.connect(self._on_position)
        document.playheadChanged.connect(self._on_playhead)
        document.songReplaced.connect(self._on_song_replaced)
        # Listen from the start, so a keyboard is heard before anything is recorded.
        midi.ensure_open()

    # -- state ---------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.state != IDLE

    @property
    def stepping(self) -> bool:
        return self.steps is not None

    def say(self, text: str) -> None:
        self.last_notice = text
        self.notice.emit(text)

    # -- commands --------------------------------------------------------------------------------
    def toggle_record(self) -> None:
        if self.recording:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self) -> bool:
        """Record from the playhead (or, while playing, from where playback is now)."""
        if self.recording:
            return False
        if self.document.active() is None:
            self.say("Add a track first: recording goes into the active track.")
            return False
        if not self.midi.ensure_open():
            self.say(f"Cannot record. {self.midi.reason or 'No MIDI input.'}")
            return False
        if self.stepping:
            self.set_step_input(False)
        self._track = self.document.active_track
        self._take_count, self._track_gone = 0, False
        controller = self.controller
        if controller.is_playing and not controller.is_auditioning:
            start = controller.position_tick()  # punch in where the music is
            self.take = TakeRecorder(round(start), self._loop())
            self._last_tick = start
            self._begin_take()
            return self.recording
        start = self.document.playhead
        self.take = TakeRecorder(start, self._loop())
        self._last_tick = float(start)
        bars = self.options.count_in_bars
        if bars > 0:
            audio, seconds = count_in(self.document.song, start, bars, controller.sample_rate)
            self._count_sound = controller.sound(audio)
            if self._count_sound is None:
                self._refuse()
                return False
            self._set_state(COUNT_IN)
            self.say("")
            self._count_frames = round(seconds * controller.sample_rate)
            # Wake a little early: the player pads the exact remainder with silence, so the
            # downbeat falls one beat after the last click whatever the timer's jitter.
            self._count_timer.start(max(0, round(seconds * 1000) - COUNT_IN_EARLY_MS))
            return True
        self._begin_take()
        return self.recording

    def stop_recording(self) -> int:
        """End the take: its notes go into the track as one undo step. Returns their count."""
        if not self.recording or self.take is None:
            return 0
        if self.state == COUNT_IN:
            self.cancel_count_in()
            return 0
        return self._end_take()

    def cancel_count_in(self) -> None:
        """Record or Stop pressed during the count-in: no take, and the clicks stop."""
        self._count_timer.stop()
        if self._count_sound is not None:
            self.controller.player.release(self._count_sound, fade_frames=256)
            self._count_sound = None
        self.take = None
        self._set_state(IDLE)
        self.say("Recording cancelled during the count-in.")

    def set_step_input(self, on: bool) -> None:
        """Step input: each key enters a note of the snap length at the cursor (the
        playhead) and moves the cursor on; click the ruler to move it."""
        if on == self.stepping:
            return
        if on:
            if self.recording:
                self.stop_recording()
            if self.document.active() is None:
                self.say("Add a track first: step input goes into the active track.")
                self.steppingChanged.emit(False)
                return
            if not self.midi.ensure_open():
                self.say(f"Cannot start step input. {self.midi.reason or 'No MIDI input.'}")
                self.steppingChanged.emit(False)
                return
            if self.controller.is_playing:  # notes are entered with the music stopped
                self.controller.stop()
            self.steps = StepInput(self.document.playhead, max(1, int(self.grid())))
            self.say("")
        else:
            self.steps = None
            self.document.end_gesture()
        self.steppingChanged.emit(self.stepping)

    def toggle_count_in(self) -> None:
        self.options.count_in_bars = 0 if self.options.count_in_bars else 1
        self.options.save()

    def toggle_metronome(self) -> None:
        self.options.metronome = not self.options.metronome
        self.options.save()
        if self.state == RECORDING:
            self.controller.player.set_click(self._metronome())

    def toggle_quantize(self) -> None:
        self.options.quantize = not self.options.quantize
        self.options.save()

    def set_port(self, port: str, monitor: bool | None = None) -> bool:
        """Audio Settings' choice of MIDI input (saved)."""
        self.options.port = port
        if monitor is not None:
            self.options.monitor = bool(monitor)
        self.options.save()
        self._release_all()
        return self.midi.set_port(port)

    # -- take internals ---------------------------------------------------------------------------
    def _begin_take(self) -> None:
        count_in, self._count_sound = self._count_sound, None
        after = (count_in, self._count_frames) if count_in is not None else None
        controller = self.controller
        self._take_audio(True)
        playing = controller.is_playing and not controller.is_auditioning
        if not playing and not controller.play(after):  # play() ends an audition first
            self._take_audio(False)
            self.take = None
            self._set_state(IDLE)
            self._refuse()
            return
        self._set_state(RECORDING)
        self.say("")

    def _loop(self) -> tuple[int, int] | None:
        """The loop region playback will wrap in while recording (None: no looping)."""
        return self.document.loop if self.controller.loop_enabled else None

    def _take_audio(self, on: bool) -> None:
        """The metronome (when chosen), and playback that goes on past the song's end."""
        player = self.controller.player
        player.set_click(self._metronome() if on else None)
        player.set_endless(on)

    def _metronome(self) -> Metronome | None:
        return Metronome(self.controller.sample_rate) if self.options.metronome else None

    def _refuse(self) -> None:
        self.take = None
        reason = self.controller.status or "no audio output device."
        self.say(f"Cannot record: recording needs the audio output to keep time. {reason}")

    def _end_take(self, lost: str = "") -> int:
        """Close the take: keys still down end now; the take is one undo step. Returns the
        number of notes it added."""
        take, self.take = self.take, None
        if take is None:
            return 0
        playing = self.state == RECORDING and self.controller.is_playing
        end = self.controller.position_tick() if playing else self._last_tick
        self._take_audio(False)
        self._add_to_track(take.finish(end))
        if self._macro_open:
            self._macro_open = False
            self.document.undo_stack.endMacro()
        self._set_state(IDLE)
        count = self._take_count
        if not count:
            self.say(lost or "Nothing was played: no notes recorded.")
            return 0
        if self._track_gone:
            kept = "The track recorded into was deleted: the rest of the take was not kept."
        else:
            name = self.document.song.tracks[self._track].name
            kept = f"{count} note{'s' if count != 1 else ''} recorded into {name}."
        self.say(f"{lost} {kept}".strip())
        return count

    def _add_to_track(self, notes: Notes) -> None:
        """Put finished notes of the take into its track, as they are played: they all
        belong to one undo macro, so Undo takes the whole take back."""
        if not len(notes):
            return
        if self.options.quantize:
            notes = quantize_take(notes, max(1, int(self.grid())))
        if not 0 <= self._track < len(self.document.song.tracks):
            self._track_gone = True
            return
        if not self._macro_open:
            self.document.undo_stack.beginMacro("Record")
            self._macro_open = True
        self.document.push(edits.AddNotes(self._track, notes), "Record")
        self._take_count += len(notes)

    def _tick_at(self, stamp: float) -> float:
        """The song tick that sounded when a message arrived (its delivery delay removed)."""
        take = self.take
        if take is None or self.state != RECORDING or not self.controller.is_playing:
            return float(take.start_tick if take is not None else self.document.playhead)
        song = self.document.song
        now = self.controller.position_tick()
        late = max(0.0, self.clock() - stamp)
        seconds = max(0.0, float(song.tick_to_seconds(now)) - late)
        tick = float(song.seconds_to_tick(seconds))
        self._last_tick = now
        return tick

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    # -- events -----------------------------------------------------------------------------------
    def _on_event(self, event: KeyEvent, stamp: float) -> None:
        # The tick first: sounding the key may render it (milliseconds that are not late).
        tick = self._tick_at(stamp) if self.take is not None and self.recording else 0.0
        if self.options.monitor:
            self._monitor(event)
        if self.take is not None and self.recording:
            if event.kind == "on":
                self.take.note_on(event.pitch, event.velocity, tick)
                self.notesChanged.emit(self.take.count)
            elif event.kind == "off":
                self.take.note_off(event.pitch, tick)
            else:
                self.take.sustain(event.velocity, tick)
            self._add_to_track(self.take.drain())
        elif self.steps is not None:
            self._step(event)

    def _step(self, event: KeyEvent) -> None:
        steps = self.steps
        assert steps is not None
        track = self.document.active_track
        if self.document.active() is None:
            return
        if event.kind == "on":
            if not steps.in_chord:  # a new chord: its keys become one undo step
                step = max(1, int(self.grid()))  # the snap may have changed meanwhile
                if step != steps.step:
                    steps.step = step
                    self.steppingChanged.emit(True)
                self.document.begin_gesture("Step input")
            note = steps.press(event.pitch, event.velocity)
            if note is not None:
                self.document.push(edits.AddNotes(track, Notes.from_notes([note])))
        elif event.kind == "off" and steps.release(event.pitch):
            self.document.end_gesture()
            self.document.set_playhead(steps.cursor)

    def _monitor(self, event: KeyEvent) -> None:
        if self.controller.reason:  # no output device: every try would rescan for one
            return
        if event.kind == "pedal":
            self._pedal = event.velocity >= 64
            if not self._pedal:
                for pitch in list(self._pedalled):
                    self._release(pitch)
                self._pedalled.clear()
            return
        if event.kind == "off":
            if self._pedal:
                self._pedalled.add(event.pitch)
            else:
                self._release(event.pitch)
            return
        self._release(event.pitch)
        self._pedalled.discard(event.pitch)
        track = self.document.active()
        program, is_drum = (track.program, track.is_drum) if track is not None else (0, False)
        synth = self.controller.player.synth
        if self._cache is None or self._cache.synth is not synth:
            self._cache = HeldNoteCache(synth)
        audio = self._cache.note(program, is_drum, event.pitch, event.velocity)
        handle = self.controller.sound(audio)
        if handle is not None:
            self._sounding[event.pitch] = handle

    def _release(self, pitch: int) -> None:
        handle = self._sounding.pop(pitch, None)
        if handle is not None:
            self.controller.player.release(handle)

    def _release_all(self) -> None:
        for pitch in list(self._sounding):
            self._release(pitch)
        self._pedalled.clear()
        self._pedal = False

    def _on_port_lost(self, message: str) -> None:
        self._release_all()
        if self.state == COUNT_IN:
            self.cancel_count_in()
        elif self.state == RECORDING:
            self._end_take(lost=message)
            self.controller.stop()
            return
        if self.stepping:
            self.steps = None
            self.document.end_gesture()
            self.steppingChanged.emit(False)
        self.say(message)

    def _on_transport_state(self, state: str) -> None:
        if state == "stopped" and self.state == COUNT_IN:
            self.cancel_count_in()
        elif state != "playing" and self.state == RECORDING:
            self.stop_recording()

    def _on_position(self, tick: float) -> None:
        if self.state == RECORDING and self.controller.is_playing:
            self._last_tick = float(tick)  # the latest, not the largest: loops jump back

    def _on_playhead(self, tick: int) -> None:
        if self.steps is not None and tick != self.steps.cursor:
            self.steps.move_to(tick)  # the composer clicked the ruler: continue from there

    def _on_song_replaced(self) -> None:
        if self.recording:  # the undo history (the take's macro with it) is gone already
            self._count_timer.stop()
            self._take_audio(False)
            self.take = None
            self._macro_open = False
            self._set_state(IDLE)
        if self.stepping:
            self.set_step_input(False)


def step_name(ticks: int, ticks_per_beat: int) -> str:
    """The snap menu's name for a step length ("1/8", "1/16 T"), else the ticks."""
    for division in SNAP_DIVISIONS:
        if division.ticks(ticks_per_beat) == ticks:
            return division.label
    return f"{ticks} ticks"


# -- the indicator --------------------------------------------------------------------------------
class RecordIndicator(QLabel):
    """ "● REC · 12 notes", "Count-in…", "Step input · 1/8 steps", or the last notice."""

    def __init__(self, recorder: Recorder, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RecordIndicator")
        self.recorder = recorder
        self.action: QAction | None = None  # set when it sits on a tool bar
        self._notes = 0
        recorder.stateChanged.connect(self._update)
        recorder.steppingChanged.connect(self._update)
        recorder.notice.connect(self._update)
        recorder.notesChanged.connect(self._on_notes)
        self._update()

    def _on_notes(self, count: int) -> None:
        self._notes = count
        self._update()

    def _update(self, *_args: object) -> None:
        r = self.recorder
        if r.state == RECORDING:
            count = r.take.count if r.take is not None else 0
            text, style = f"● REC · {count} note{'s' if count != 1 else ''}", REC_STYLE
        elif r.state == COUNT_IN:
            text, style = "● Count-in…", REC_STYLE
        elif r.steps is not None:
            tpb = r.document.song.ticks_per_beat
            text, style = f"Step input · {step_name(r.steps.step, tpb)} steps", STEP_STYLE
        else:
            text, style = r.last_notice, NOTICE_STYLE if r.last_notice else ""
        self.setText(text)
        self.setToolTip(text)
        self.setStyleSheet(style)
        # On a tool bar, the bar's action shows and hides the widget (Qt's rule).
        if self.action is not None:
            self.action.setVisible(bool(text))
        else:
            self.setVisible(bool(text))

    def refresh(self) -> None:
        self._update()


# -- commands and assembly ------------------------------------------------------------------------
RECORDING_COMMANDS: tuple[Command[Recorder], ...] = (
    Command("transport.record", "Record", "transport", lambda d, r: r.toggle_record(), ("R",),
            "Record the MIDI keyboard into the active track from the playhead; again to stop",
            section="record", checkable=True, icon="record", checked=lambda r: r.recording),
    Command("transport.step_input", "Step Input", "transport",
            lambda d, r: r.set_step_input(not r.stepping), ("Shift+R",),
            "Each key played enters a note of the snap length at the playhead and moves on",
            section="record", checkable=True, icon="step-input", checked=lambda r: r.stepping),
    Command("transport.count_in", "Count-in (One Bar)", "transport",
            lambda d, r: r.toggle_count_in(), (), "Click one bar before recording starts",
            section="record", checkable=True, checked=lambda r: r.options.count_in_bars > 0),
    Command("transport.metronome", "Metronome While Recording", "transport",
            lambda d, r: r.toggle_metronome(), (), "Click on every beat while recording",
            section="record", checkable=True, icon="metronome",
            checked=lambda r: r.options.metronome),
    Command("transport.quantize_input", "Quantize Input", "transport",
            lambda d, r: r.toggle_quantize(), (),
            "Snap the starts of recorded notes to the editor's grid",
            section="record", checkable=True, checked=lambda r: r.options.quantize),
)  # fmt: skip


def register(registry: CommandRegistry, recorder: Recorder) -> None:
    """Declare the recording commands; their check marks follow the recorder's state."""
    registry.add(*RECORDING_COMMANDS, context=recorder)
    recorder.stateChanged.connect(registry.refresh)
    recorder.steppingChanged.connect(registry.refresh)


def build_recording(
    window: MainWindow,
    controller: TransportController,
    bar: QToolBar | None = None,
    backend: MidiBackend | None = None,
) -> Recorder:
    """The window's recorder: its commands in ``window.commands``, a Record button and the
    record indicator on the transport bar, notices in the status bar.

    `backend` is for tests (an injected keyboard); the default is mido + python-rtmidi.
    """
    options = RecordingOptions.load()
    midi = MidiInput(backend, options.port, window)
    recorder = Recorder(
        window.document, controller, midi, window.editor.grid_ticks, options, window
    )
    register(window.commands, recorder)
    recorder.notice.connect(lambda text: text and window.statusBar().showMessage(text, 8000))
    if bar is not None:
        record = window.commands.action("transport.record")
        commands = window.commands
        stop = commands.action("transport.stop") if "transport.stop" in commands else None
        actions = bar.actions()
        after = actions.index(stop) + 1 if stop in actions else len(actions)
        if after < len(actions):
            bar.insertAction(actions[after], record)
        else:
            bar.addAction(record)
        # The indicator goes just before the transport's status text (where notices are read).
        indicator = RecordIndicator(recorder, bar)
        status = getattr(bar, "status_label", None)
        anchor = next((a for a in bar.actions() if bar.widgetForAction(a) is status), None)
        indicator.action = (
            bar.insertWidget(anchor, indicator) if anchor is not None else bar.addWidget(indicator)
        )
        indicator.refresh()
        recorder.indicator = indicator
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(midi.close)  # let go of the port before Python tears down
    return recorder
