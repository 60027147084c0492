"""The real-time player: a render thread fills a ring buffer that the audio callback drains.

The audio callback (`Player.callback`) only copies frames out of a preallocated ring,
mixes any pitch previews and advances a counter: no rendering, no allocation beyond
array views, no locks, no Qt. A plain Python thread renders ahead of it (`fill`) in
small blocks. Edits never touch audio the device is about to play: they rewind the write
index to just past what the callback can reach in the meantime, and the render thread
writes the new music from there, so an edit is heard within one or two device buffers.

Everything here runs without a sound card: tests drive `callback` with a fake stream.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.audio.synth import Limiter, Synth, TrackMix, song_tail_seconds
from studio.audio.transport import PlayState, Transport
from studio.core.song import Song

RING_FRAMES = 1 << 15  # ~0.7 s at 44.1 kHz: room for the look-ahead plus edit margin
FIRST_BLOCK = 1024  # rendered first on Play and after an edit: small, so it is quick
BLOCK = 4096  # largest render block: large enough to amortise numpy's call overhead
BLOCK_SECONDS = 0.004  # ...but small enough that a dense song's block renders this fast
LOOP_FADE = 128  # frames of crossfade where a loop jumps back (no click at the seam)


@dataclass
class _Segment:
    """Stream frames [stream_start, stream_start + length) play song frames from song_start."""

    stream_start: int
    song_start: int
    length: int


class Player:
    """Owns the ring buffer, the render thread and the transport clock for one song."""

    def __init__(
        self,
        song: Song,
        sample_rate: int = 44100,
        *,
        synth: Synth | None = None,
        lookahead: float = 0.3,
        device_block: int = 1024,
        threaded: bool = True,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.synth = synth or Synth(self.sample_rate)
        self.transport = Transport(song, self.sample_rate)
        self.mix: dict[int, TrackMix] = {}
        self.lookahead_frames = int(lookahead * self.sample_rate)
        # How far the callback can read before a rewind takes effect: two device buffers.
        self.margin = 2 * int(device_block) + 256
        self._ring = np.zeros((RING_FRAMES, 2), dtype=np.float32)
        self._fade = np.linspace(1.0, 0.0, 1 << 14, dtype=np.float32)
        self._lock = threading.RLock()  # UI thread vs render thread; never the callback
        self._limiter = Limiter(self.sample_rate)
        self._segments: deque[_Segment] = deque()
        # Written by the callback only:
        self._read = 0  # stream frames consumed
        self._last_buffer: tuple[int, float, int] = (0, 0.0, 0)  # (frame, dac time, frames)
        self.finished = False  # playback ran off the end of the song (UI polls this)
        self.callback_errors = 0
        # Written by the render side only (under the lock):
        self._write = 0
        self._cursor = 0  # song frame rendered next, at stream frame _write
        self._end_write: int | None = None  # stream frame where the song has ended
        self._dirty = False
        self._last_song_end = -1  # song frame where the previous rendered piece ended
        self._tail = song_tail_seconds(song, self.sample_rate)
        # Flags the callback reads:
        self._playing = False
        self._fade_out = False
        self._previews: deque[list[Any]] = deque()
        # Mixed into each rendered block when set (the metronome while recording):
        self.click: Any = None
        self.endless = False  # play on past the song's end (recording into an empty song)
        self._wake = threading.Event()
        self._warm_pending = True
        self._seconds_per_frame = 0.0  # measured render cost, sizes the blocks
        self._closing = False
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="pianola-render", daemon=True)
            self._thread.start()

    # -- control (UI thread) -------------------------------------------------------------
    @property
    def state(self) -> PlayState:
        return self.transport.state

    @property
    def song(self) -> Song:
        return self.transport.song

    def set_song(self, song: Song) -> None:
        """An edit, mute/solo or a new song: heard from the next buffer on."""
        with self._lock:
            self.transport.set_song(song)
            self._tail = song_tail_seconds(song, self.sample_rate)
            self._dirty = True
            self._warm_pending = True
        self._wake.set()

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        with self._lock:
            self.transport.set_loop(loop)
            self._dirty = True
        self._wake.set()

    def set_mix(self, mix: Mapping[int, TrackMix]) -> None:
        with self._lock:
            self.mix = dict(mix)
            self._dirty = True
        self._wake.set()

    def play(self, from_tick: float | None = None, lead_in: int = 0) -> None:
        """Start from `from_tick` (or the current position); the first block is ready on return.

        `lead_in` frames of silence come first (the playhead waits at the start meanwhile).
        """
        with self._lock:
            self._playing = False
            self._fade_out = False
            start = self.transport.play(from_tick)
            self.finished = False
            self._restart_at(start)
            if lead_in > 0:
                self._silence(min(int(lead_in), RING_FRAMES // 2), start)
            self._limiter.reset()
            self._render_ahead(FIRST_BLOCK)
            self._playing = True
        self._wake.set()

    def play_after(self, item: list[Any], frames: int, from_tick: float | None = None) -> None:
        """Start so that the song's first frame sounds exactly `frames` after the held sound
        `item` began (a count-in), however late this call comes; never more than 0.25 s of
        silence is put in front (a call that early is not a count-in's end)."""
        read = self._read  # the callback moves `_read`, then the item's position
        began = read - int(item[1])
        lead = max(0, min(began + int(frames) - read, self.sample_rate // 4))
        self.play(from_tick, lead_in=lead)

    def pause(self, now: float | None = None) -> None:
        """Pause where the listener is now (the audible frame), fading the sound out."""
        with self._lock:
            position = self.playhead_frame(now)
            self._fade_out = self._playing
            self.transport.pause(round(position))

    def stop(self) -> None:
        with self._lock:
            self._fade_out = self._playing
            self.transport.stop()

    def seek(self, tick: float) -> None:
        """Move the position; while playing, playback continues from there at once."""
        with self._lock:
            if self.transport.state is PlayState.PLAYING:
                self.play(tick)
            else:
                self.transport.seek(tick)

    def preview(self, program: int, is_drum: bool, pitch: int, velocity: int, seconds=0.35) -> None:
        """Sound one note now, on top of whatever plays (the callback mixes it in)."""
        note = self.synth.render_note(program, is_drum, pitch, velocity, seconds)
        np.clip(note, -1.0, 1.0, out=note)
        if len(self._previews) > 8:  # a fast drag across the keyboard: drop the oldest
            self._previews.popleft()
        self._previews.append([note, 0])

    def set_click(self, click: Any) -> None:
        """Mix `click.mix_into(block, song, song_frame)` into the music (None: no click)."""
        with self._lock:
            self.click = click
            self._dirty = True
        self._wake.set()

    def set_endless(self, endless: bool) -> None:
        """Keep playing (silence, clicks) past the song's end until stopped: recording."""
        with self._lock:
            self.endless = bool(endless)
            self._dirty = True
        self._wake.set()

    def hold(self, note: np.ndarray) -> list[Any]:
        """Sound rendered audio now until it ends or `release` (a key held on a keyboard).

        `note` is not copied (it may be a cached, read-only render); the mix is clipped.
        """
        item = [note, 0]
        if len(self._previews) > 8:
            self._previews.popleft()
        self._previews.append(item)
        return item

    def release(self, item: list[Any], fade_frames: int = 4096) -> None:
        """End a held sound with a fade that starts just past what the device may be reading.

        The callback reads `item` without a lock: the shortened copy equals the old audio
        up to the cut, so whichever one it uses for the buffer in flight sounds the same.
        """
        note, pos = item[0], int(item[1])
        cut = min(len(note), pos + self.margin)
        n = min(int(fade_frames), len(note) - cut)
        if n <= 0:
            return
        faded = note[: cut + n].copy()
        faded[cut:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]
        item[0] = faded

    @property
    def previewing(self) -> bool:
        return bool(self._previews)

    def close(self) -> None:
        self._closing = True
        self._playing = False
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    # -- clock -----------------------------------------------------------------------------
    def playhead_frame(self, now: float | None = None) -> float:
        """The song frame the listener hears at stream time `now`.

        Uses the DAC time the device reported for the last buffer, so the playhead
        lags the render by exactly the output latency, not by a guess. Without `now`
        (or before the first buffer) it is the last frame handed to the device.
        """
        if self.transport.state is not PlayState.PLAYING:
            return float(self.transport.position)
        frame, dac_time, frames = self._last_buffer
        stream_frame = float(self._read)
        if now is not None and frames:
            elapsed = (now - dac_time) * self.sample_rate
            stream_frame = frame + min(max(elapsed, -float(self.margin)), float(frames))
        return self._song_frame_at(stream_frame)

    def playhead_tick(self, now: float | None = None) -> float:
        return self.transport.frame_to_tick(self.playhead_frame(now))

    def _song_frame_at(self, stream_frame: float) -> float:
        with self._lock:
            segments = list(self._segments)
        if not segments:
            return float(self.transport.position)
        for seg in reversed(segments):
            if seg.stream_start <= stream_frame:
                offset = min(stream_frame - seg.stream_start, float(seg.length))
                return seg.song_start + offset
        return float(segments[0].song_start)

    # -- audio thread ---------------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's callback: copy from the ring, mix previews. Cheap and lock-free.

        It must never raise: sounddevice stops calling a callback that raised, which
        would leave the app silent until a restart.
        """
        try:
            self._fill_output(outdata, frames, time_info)
        except Exception:
            outdata.fill(0.0)
            self.callback_errors += 1

    def _fill_output(self, outdata: np.ndarray, frames: int, time_info: Any) -> None:
        outdata.fill(0.0)
        channels = outdata.shape[1]
        if self._playing:
            read = self._read
            available = self._write - read
            n = min(frames, max(0, available))
            if n:
                start = read % RING_FRAMES
                first = min(n, RING_FRAMES - start)
                self._copy(outdata[:first], self._ring[start : start + first], channels)
                if first < n:
                    self._copy(outdata[first:n], self._ring[: n - first], channels)
                if self._fade_out:
                    np.multiply(outdata[:n], self._fade_curve(n), out=outdata[:n])
            dac = getattr(time_info, "outputBufferDacTime", 0.0) if time_info is not None else 0.0
            self._last_buffer = (read, float(dac), n)
            self._read = read + n
            end = self._end_write
            if self._fade_out:
                self._playing = False
                self._fade_out = False
            elif end is not None and self._read >= end:
                self._playing = False
                self.finished = True
        if self._previews:
            self._mix_previews(outdata, frames, channels)
        if not self._playing:
            self._wake.set()

    def _fade_curve(self, n: int) -> np.ndarray:
        # A strided view of a precomputed ramp: no allocation in the callback.
        step = max(1, len(self._fade) // max(n, 1))
        return self._fade[: step * n : step][:n, None]

    @staticmethod
    def _copy(out: np.ndarray, source: np.ndarray, channels: int) -> None:
        if channels >= 2:
            out[:, :2] = source
        else:
            np.add(source[:, 0], source[:, 1], out=out[:, 0])
            out *= 0.5

    def _mix_previews(self, outdata: np.ndarray, frames: int, channels: int) -> None:
        for _ in range(len(self._previews)):
            try:
                item = self._previews.popleft()
            except IndexError:  # the UI thread dropped an old preview meanwhile
                break
            note, pos = item
            n = min(frames, len(note) - pos)
            if channels >= 2:
                np.add(outdata[:n, :2], note[pos : pos + n], out=outdata[:n, :2])
            else:
                np.add(outdata[:n, 0], note[pos : pos + n, 0], out=outdata[:n, 0])
            item[1] = pos + n
            if item[1] < len(note):
                self._previews.append(item)
        np.clip(outdata, -1.0, 1.0, out=outdata)

    # -- render side --------------------------------------------------------------------------
    def fill(self) -> int:
        """Render until the look-ahead is full. Returns the frames rendered.

        The lock is taken per block, so Play/Stop/edits from the UI thread wait for one
        block at most; blocks are sized so that one renders in a few milliseconds.
        """
        rendered = 0
        while True:
            with self._lock:
                if not self._playing:
                    return rendered
                if self._dirty:
                    self._rewind()
                if self._end_write is not None:
                    return rendered
                if self._write - self._read >= self.lookahead_frames:
                    return rendered
                # Right after a rewind the callback is close behind: hand it a small
                # block first, then go on in larger ones.
                urgent = self._write - self._read < self.margin + FIRST_BLOCK
                rendered += self._render_ahead(FIRST_BLOCK if urgent else self._block_size())

    def _block_size(self) -> int:
        """Frames that render in about BLOCK_SECONDS of CPU, between FIRST_BLOCK and BLOCK."""
        if self._seconds_per_frame <= 0:
            return BLOCK
        frames = BLOCK_SECONDS / self._seconds_per_frame
        return int(min(BLOCK, max(FIRST_BLOCK, frames // 512 * 512)))

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait(timeout=0.01)
            self._wake.clear()
            if self._closing:
                break
            try:
                self.fill()
                if self._warm_pending and not self._playing:
                    self.warm()
            except Exception:  # never let a render bug kill playback silently
                import traceback

                traceback.print_exc()
                self._playing = False

    def warm(self) -> None:
        """Bake the wavetables and drum kit this song needs before Play is pressed.

        Done in the render thread while idle: the first Play after opening a song then
        costs one small block, not table baking (~0.5 s for the drum kit).
        """
        self._warm_pending = False
        song = self.song
        self.synth.warm(song)

    def _restart_at(self, song_frame: int) -> None:
        self._write = self._read
        self._cursor = int(song_frame)
        self._segments.clear()
        self._end_write = None
        self._dirty = False
        self._last_song_end = -1

    def _silence(self, count: int, song_frame: int) -> None:
        """Publish `count` silent frames that hold the song at `song_frame` (a lead-in)."""
        rows = (np.arange(count) + self._write) % RING_FRAMES
        self._ring[rows] = 0.0
        self._segments.append(_Segment(self._write, song_frame, 0))
        self._write += count

    def _rewind(self) -> None:
        """Drop rendered audio the callback cannot reach yet; re-render it from the song."""
        self._dirty = False
        target = self._read + self.margin
        if target >= self._write:
            return
        self._cursor = round(self._song_frame_at(target))
        while self._segments and self._segments[-1].stream_start >= target:
            self._segments.pop()
        if self._segments:
            last = self._segments[-1]
            last.length = min(last.length, target - last.stream_start)
        self._write = target
        self._end_write = None

    def _render_ahead(self, count: int) -> int:
        """Render `count` frames at the write index and publish them to the callback."""
        end = self.transport.end_frame(self._tail)
        loop = self.transport.loop_frames
        if loop is None and self._cursor >= end and not self.endless:
            self._end_write = self._write
            return 0
        if loop is None and not self.endless:
            count = min(count, end - self._cursor)
        began = time.perf_counter()
        pieces, next_cursor = self.transport.segments(self._cursor, count)
        block = np.empty((count, 2), dtype=np.float32)
        offset = 0
        for song_start, length in pieces:
            audio = self.synth.render(self.song, song_start, length, self.mix)
            click = self.click
            if click is not None:
                click.mix_into(audio, self.song, song_start)
            wrapped = loop is not None and song_start == loop[0] != self._last_song_end
            if wrapped and self._last_song_end == loop[1]:
                self._crossfade_loop(audio, loop[1])
            self._last_song_end = song_start + length
            block[offset : offset + length] = audio
            offset += length
        self._limiter.process(block)
        start = self._write % RING_FRAMES
        first = min(count, RING_FRAMES - start)
        self._ring[start : start + first] = block[:first]
        self._ring[: count - first] = block[first:]
        stream = self._write
        for song_start, length in pieces:
            self._segments.append(_Segment(stream, song_start, length))
            stream += length
        while len(self._segments) > 256:
            self._segments.popleft()
        self._cursor = next_cursor
        self._write += count  # publish last: the callback only reads below _write
        cost = (time.perf_counter() - began) / count
        self._seconds_per_frame = (
            cost if self._seconds_per_frame <= 0 else 0.8 * self._seconds_per_frame + 0.2 * cost
        )
        return count

    def _crossfade_loop(self, audio: np.ndarray, loop_end: int) -> None:
        """Fade the music past the loop end out while the loop start fades in."""
        n = min(LOOP_FADE, len(audio))
        overhang = self.synth.render(self.song, loop_end, n, self.mix)
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        audio[:n] = audio[:n] * np.sqrt(ramp) + overhang * np.sqrt(1.0 - ramp)


def make_time_info(dac_time: float, current_time: float) -> Any:
    """A stand-in for PortAudio's time-info struct (tests, stub streams)."""
    return _TimeInfo(dac_time, current_time)


@dataclass(frozen=True)
class _TimeInfo:
    outputBufferDacTime: float
    currentTime: float


Callback = Callable[[np.ndarray, int, Any, Any], None]
