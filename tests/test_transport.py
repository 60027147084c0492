"""Transport and real-time player, driven by a hand-pumped stream (no sound card)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.audio.player import Player
from studio.audio.synth import TrackMix
from studio.audio.testing import ManualStream
from studio.audio.transport import PlayState, Transport
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track

SR = 44100
BLOCK = 1024


def song_with(pitches=(60,), starts=(0,), durations=(480,), program=0, bpm=120.0) -> Song:
    notes = Notes(list(pitches), list(starts), list(durations))
    track = Track("p", program=program, notes=notes)
    return Song("s", tempos=[TempoChange(0, bpm)], tracks=[track])


def long_song() -> Song:
    # A note on every beat for 16 bars at 120 bpm (0.5 s per beat, 32 s).
    n = 64
    return song_with(np.full(n, 60) + np.arange(n) % 12, np.arange(n) * 480, np.full(n, 400))


@pytest.fixture
def rig():
    player = Player(long_song(), SR, threaded=False, device_block=BLOCK)
    stream = ManualStream(player.callback, SR, BLOCK)
    stream.start()

    def run(buffers: int) -> np.ndarray:
        out = []
        for _ in range(buffers):
            player.fill()
            out.append(stream.pump())
        return np.concatenate(out)

    yield player, stream, run
    player.close()


# -- pure transport ----------------------------------------------------------------------


def test_frames_and_ticks_follow_the_tempo_map() -> None:
    song = Song("t", tempos=[TempoChange(0, 120.0), TempoChange(1920, 60.0)])
    transport = Transport(song, SR)
    assert transport.tick_to_frame(480) == SR // 2
    assert transport.tick_to_frame(1920) == 2 * SR
    assert transport.tick_to_frame(1920 + 480) == 3 * SR  # one beat at 60 bpm
    assert transport.frame_to_tick(3 * SR) == pytest.approx(2400)
    assert transport.tempo_at(2000) == 60.0


def test_bar_beat_honours_meter_changes() -> None:
    song = Song("m", time_signatures=[TimeSignature(0, 4, 4), TimeSignature(3840, 3, 4)])
    transport = Transport(song, SR)
    assert transport.bar_beat(0) == (1, 1, 0)
    assert transport.bar_beat(480 * 5 + 10) == (2, 2, 10)
    assert transport.bar_beat(3840) == (3, 1, 0)
    assert transport.bar_beat(3840 + 3 * 480) == (4, 1, 0)


def test_segments_wrap_exactly_at_the_loop_end() -> None:
    transport = Transport(long_song(), SR)
    transport.set_loop((480, 960))  # 0.5 s .. 1.0 s
    loop_start, loop_end = transport.loop_frames
    assert (loop_start, loop_end) == (SR // 2, SR)
    pieces, cursor = transport.segments(loop_end - 100, 300)
    assert pieces == [(loop_end - 100, 100), (loop_start, 200)]
    assert cursor == loop_start + 200
    # Starting before the loop plays into it; a loop of N frames repeats every N frames.
    pieces, cursor = transport.segments(0, SR // 2 + 3 * (SR // 2))
    assert pieces[0] == (0, SR)
    assert all(p == (loop_start, SR // 2) for p in pieces[1:])
    # Starting after the loop plays straight on.
    assert transport.segments(2 * SR, 500) == ([(2 * SR, 500)], 2 * SR + 500)


def test_play_pause_stop_state_machine() -> None:
    transport = Transport(long_song(), SR)
    assert transport.play(from_tick=960) == SR
    transport.pause(position=SR + 500)
    assert transport.state is PlayState.PAUSED and transport.position == SR + 500
    transport.play()
    assert transport.position == SR + 500 and transport.start_position == SR
    transport.stop()
    assert transport.state is PlayState.STOPPED and transport.position == SR
    transport.stop()
    assert transport.position == 0


def test_tempo_edit_keeps_the_musical_position() -> None:
    transport = Transport(song_with(bpm=120.0), SR)
    transport.seek(960)
    slower = song_with(bpm=60.0)
    transport.set_song(slower)
    assert transport.position_tick == pytest.approx(960)
    assert transport.position == 2 * SR


# -- player against a manual stream --------------------------------------------------------


def test_position_advances_by_frames(rig) -> None:
    player, stream, run = rig
    player.play(from_tick=0)
    run(10)
    assert player._read == 10 * BLOCK
    # The playhead is the frame the DAC plays now: the stream clock minus output latency.
    now = stream.time
    assert player.playhead_frame(now) == pytest.approx(10 * BLOCK - stream.latency * SR, abs=2)
    assert player.playhead_tick(now) == pytest.approx(
        (10 * BLOCK - stream.latency * SR) / SR * 960, abs=2
    )


def test_output_matches_offline_render(rig) -> None:
    from studio.audio.synth import Synth

    player, _stream, run = rig
    player.play(from_tick=480)
    heard = run(20)
    offline = Synth(SR).render(player.song, SR // 2, 20 * BLOCK)
    np.testing.assert_allclose(heard, np.clip(offline, -1, 1), atol=1e-5)


def test_loop_wraps_exactly(rig) -> None:
    player, _stream, run = rig
    player.set_loop((0, 480))  # half a second
    player.play(from_tick=0)
    heard = run(60)  # ~1.4 s: the loop has restarted twice
    period = SR // 2
    # After the crossfade at the seam, each pass equals the first one, sample for sample.
    np.testing.assert_allclose(heard[period + 200 : 2 * period], heard[200:period], atol=1e-5)
    np.testing.assert_allclose(
        heard[2 * period + 200 : 2 * period + 5000], heard[200:5000], atol=1e-5
    )
    assert player.playhead_frame() < period
    assert player.state is PlayState.PLAYING


def test_loop_seam_has_no_click(rig) -> None:
    player, _stream, run = rig
    # Loop cuts through the middle of a held note: the seam must be crossfaded.
    player.set_song(song_with((60,), (0,), (4800,), program=19))
    player.set_loop((240, 720))
    player.play(from_tick=240)
    heard = run(40)
    seam = SR // 2
    steps = np.abs(np.diff(heard[seam - 50 : seam + 50], axis=0)).max()
    typical = np.abs(np.diff(heard[1000 : seam - 1000], axis=0)).max()
    assert steps < 2 * typical


def test_pause_keeps_position_and_stop_resets(rig) -> None:
    player, stream, run = rig
    player.play(from_tick=480)
    run(20)
    player.pause(now=stream.time)
    paused_at = player.transport.position
    assert paused_at == pytest.approx(SR // 2 + 20 * BLOCK - stream.latency * SR, abs=2)
    faded = run(1)
    assert np.abs(faded[-10:]).max() < 0.01  # faded out, no click
    silent = run(5)
    assert not silent.any()
    assert player.transport.position == paused_at
    player.play()
    assert player.transport.position == paused_at
    player.stop()
    assert player.transport.position == SR // 2  # back to where Play started
    assert player.state is PlayState.STOPPED


def test_edit_during_playback_is_heard_at_the_next_buffers(rig) -> None:
    player, _stream, run = rig
    player.play(from_tick=0)
    run(5)
    assert player._write - player._read > 3 * BLOCK  # audio is queued ahead
    muted = player.song.copy()
    muted.tracks[0].mute = True
    player.set_song(muted)
    heard = run(6)
    # Within the margin (two device buffers) the old music may still play; then silence.
    assert not heard[3 * BLOCK :].any()


def test_mix_change_is_heard_at_the_next_buffers(rig) -> None:
    player, _stream, run = rig
    player.play(from_tick=0)
    run(5)
    player.set_mix({0: TrackMix(pan=-1.0)})
    heard = run(6)
    assert np.abs(heard[3 * BLOCK :, 1]).max() < 1e-6 < np.abs(heard[3 * BLOCK :, 0]).max()


def test_playback_ends_after_the_last_note(rig) -> None:
    player, _stream, run = rig
    player.set_song(song_with((60,), (0,), (240,)))
    player.play(from_tick=0)
    run(30)  # 0.7 s: the note (0.25 s) and its release have finished
    assert player.finished
    assert not run(2).any()


def test_empty_song_finishes_at_once(rig) -> None:
    player, _stream, run = rig
    player.set_song(Song("empty"))
    player.play(from_tick=0)
    run(2)
    assert player.finished


def test_preview_sounds_while_stopped(rig) -> None:
    player, _stream, run = rig
    player.preview(program=52, is_drum=False, pitch=67, velocity=100)
    heard = run(30)  # 0.35 s note + 0.22 s release = 0.57 s < 30 buffers
    assert np.abs(heard).max() > 0.01
    assert not player.previewing
    assert np.abs(heard[-BLOCK:]).max() == 0.0


def test_mono_device_gets_a_mixdown() -> None:
    player = Player(long_song(), SR, threaded=False)
    stream = ManualStream(player.callback, SR, BLOCK, channels=1)
    player.play(from_tick=0)
    player.fill()
    out = stream.pump(3)
    assert out.shape == (3 * BLOCK, 1) and np.abs(out).max() > 0.01
    player.close()


def test_render_thread_fills_ahead() -> None:
    import time

    player = Player(long_song(), SR, threaded=True)
    stream = ManualStream(player.callback, SR, BLOCK)
    try:
        player.play(from_tick=0)
        deadline = time.monotonic() + 5.0
        while player._write - player._read < player.lookahead_frames:
            assert time.monotonic() < deadline, "render thread did not fill the look-ahead"
            time.sleep(0.01)
        assert np.abs(stream.pump(4)).max() > 0.01
    finally:
        player.close()
    assert player._thread is None


def test_callback_never_raises(rig) -> None:
    """An internal error yields a silent buffer, never an exception into PortAudio."""
    player, stream, _run = rig
    player.play(from_tick=0)
    player._ring = None  # simulate a bug on the audio path
    out = stream.pump(1)
    assert not out.any()
    assert player.callback_errors == 1
