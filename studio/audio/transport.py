"""Transport state and clock: where playback is, in frames of one sample rate.

Pure logic, no audio device and no Qt. Positions are counted in frames (samples per
channel) because that is what the audio callback counts; ticks are derived through the
song's tempo map (`Song.tick_to_seconds` / `seconds_to_tick`), so a tempo change moves
the sound and the playhead together.
"""

from __future__ import annotations

import math
from enum import Enum

from studio.core.song import Song


class PlayState(Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


class Transport:
    """Play / pause / stop, play from a tick, and a loop region that wraps exactly.

    ``position`` is the song frame the listener hears (set by whoever owns the clock);
    ``segments`` hands out the song frames to render next, jumping from the loop end
    back to the loop start on exactly the right frame.
    """

    def __init__(self, song: Song, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        self.song = song
        self.state = PlayState.STOPPED
        self.position = 0  # frames
        self.start_position = 0  # where the last Play started: Stop returns here
        self._loop_ticks: tuple[int, int] | None = None

    # -- conversions -----------------------------------------------------------------
    def tick_to_frame(self, tick: float) -> int:
        return round(float(self.song.tick_to_seconds(max(0.0, tick))) * self.sample_rate)

    def frame_to_tick(self, frame: float) -> float:
        return float(self.song.seconds_to_tick(max(0.0, frame) / self.sample_rate))

    def frame_to_seconds(self, frame: float) -> float:
        return max(0.0, frame) / self.sample_rate

    @property
    def position_tick(self) -> float:
        return self.frame_to_tick(self.position)

    def tempo_at(self, tick: float) -> float:
        bpm = self.song.tempos[0].bpm
        for change in self.song.tempos:
            if change.tick > tick:
                break
            bpm = change.bpm
        return float(bpm)

    def bar_beat(self, tick: float) -> tuple[int, int, int]:
        """1-based bar and beat at a tick, plus ticks into the beat, honouring meter changes."""
        tick = max(0.0, float(tick))
        song = self.song
        bar = 1
        sigs = song.time_signatures
        for k, sig in enumerate(sigs):
            beat_len = song.ticks_per_beat * 4 / sig.denominator
            bar_len = beat_len * sig.numerator
            seg_end = sigs[k + 1].tick if k + 1 < len(sigs) else math.inf
            if tick < seg_end:
                into = tick - sig.tick
                bars = int(into // bar_len)
                in_bar = into - bars * bar_len
                beat = int(in_bar // beat_len)
                return bar + bars, beat + 1, int(in_bar - beat * beat_len)
            bar += math.ceil((seg_end - sig.tick) / bar_len)
        return bar, 1, 0  # not reached: the last segment is open-ended

    # -- song and loop -------------------------------------------------------------------
    def set_song(self, song: Song) -> None:
        """Swap in an edited song, keeping the musical position if the tempo changed."""
        if song.tempos != self.song.tempos or song.ticks_per_beat != self.song.ticks_per_beat:
            tick = self.frame_to_tick(self.position)
            start_tick = self.frame_to_tick(self.start_position)
            self.song = song
            self.position = self.tick_to_frame(tick)
            self.start_position = self.tick_to_frame(start_tick)
        else:
            self.song = song

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        """Loop region in ticks [start, end), or None. Empty regions mean no loop."""
        if loop is not None:
            start, end = sorted((max(0, int(loop[0])), max(0, int(loop[1]))))
            loop = (start, end) if end > start else None
        self._loop_ticks = loop

    @property
    def loop_ticks(self) -> tuple[int, int] | None:
        return self._loop_ticks

    @property
    def loop_frames(self) -> tuple[int, int] | None:
        if self._loop_ticks is None:
            return None
        start, end = (self.tick_to_frame(t) for t in self._loop_ticks)
        return (start, end) if end > start else None

    def end_frame(self, tail_seconds: float = 0.0) -> int:
        """Frame where the song (plus a release tail) has finished sounding."""
        end = float(self.song.tick_to_seconds(self.song.end_tick)) + tail_seconds
        return math.ceil(end * self.sample_rate) if self.song.end_tick else 0

    # -- state machine ---------------------------------------------------------------------
    def play(self, from_tick: float | None = None) -> int:
        """Start playing (from `from_tick` if given) and return the start frame.

        Starting inside or before the loop region plays into the loop; starting after its
        end plays on to the end of the song, as in any DAW.
        """
        if from_tick is not None:
            self.position = self.tick_to_frame(from_tick)
        if self.state is not PlayState.PAUSED or from_tick is not None:
            self.start_position = self.position
        self.state = PlayState.PLAYING
        return self.position

    def pause(self, position: int | None = None) -> None:
        if position is not None:
            self.position = max(0, int(position))
        if self.state is PlayState.PLAYING:
            self.state = PlayState.PAUSED

    def stop(self) -> None:
        """First Stop returns to where Play started; Stop while stopped goes to the top."""
        if self.state is PlayState.STOPPED:
            self.position = 0
            self.start_position = 0
        else:
            self.position = self.start_position
        self.state = PlayState.STOPPED

    def seek(self, tick: float) -> None:
        self.position = self.tick_to_frame(tick)
        self.start_position = self.position

    # -- what to render next ------------------------------------------------------------
    def segments(self, cursor: int, count: int) -> tuple[list[tuple[int, int]], int]:
        """Song frames for the next `count` output frames from song frame `cursor`.

        Returns ``([(song_start, length), ...], next_cursor)``. At the loop end the
        next segment starts exactly at the loop start, so a loop of N frames repeats
        every N output frames with no gap and no overlap.
        """
        pieces: list[tuple[int, int]] = []
        loop = self.loop_frames
        remaining = int(count)
        while remaining > 0:
            if loop is not None and cursor < loop[1]:
                length = min(remaining, loop[1] - cursor)
                pieces.append((cursor, length))
                cursor += length
                if cursor >= loop[1]:
                    cursor = loop[0]
            else:
                pieces.append((cursor, remaining))
                cursor += remaining
                length = remaining
            remaining -= length
        return pieces, cursor
