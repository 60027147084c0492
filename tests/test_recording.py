"""Recording's pure parts: key events -> notes, quantize on input, step input, the metronome
and the player hooks that sound it (clicks, held keys)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.audio.live import HeldNoteCache
from studio.audio.metronome import Metronome, beat_ticks, count_in, render_click
from studio.audio.player import Player
from studio.audio.synth import Synth
from studio.audio.testing import ManualStream
from studio.core.recording import StepInput, TakeRecorder, quantize_take
from studio.core.song import Note, Notes, Song, TempoChange, TimeSignature, Track

SR = 44100


def rows(notes: Notes) -> list[tuple[int, int, int, int]]:
    return [
        (int(p), int(s), int(d), int(v))
        for p, s, d, v in zip(notes.pitch, notes.start, notes.duration, notes.velocity, strict=True)
    ]


# -- TakeRecorder ----------------------------------------------------------------------------
def test_key_down_and_up_make_a_note_at_those_ticks():
    take = TakeRecorder(start_tick=960)
    take.note_on(60, 90, 1000.4)
    take.note_on(64, 70, 1010)
    take.note_off(60, 1470)
    take.note_on(67, 0, 1500)  # velocity 0 is a note-off for a key never pressed: ignored
    take.note_off(64, 1900)
    assert rows(take.notes()) == [(60, 1000, 470, 90), (64, 1010, 890, 70)]


def test_early_keys_count_on_the_downbeat_and_held_keys_end_at_stop():
    take = TakeRecorder(start_tick=480)
    take.note_on(60, 100, 300)  # struck during the count-in, a little early
    take.note_on(62, 100, 700)
    assert take.count == 2 and take.sounding == (60, 62)
    assert rows(take.notes(end_tick=1200)) == [(60, 480, 720, 100), (62, 700, 500, 100)]


def test_restriking_a_held_key_ends_the_first_note():
    take = TakeRecorder(start_tick=0)
    take.note_on(60, 80, 0)
    take.note_on(60, 100, 240)
    take.note_off(60, 400)
    assert rows(take.notes()) == [(60, 0, 240, 80), (60, 240, 160, 100)]


def test_sustain_pedal_is_baked_into_lengths():
    take = TakeRecorder(start_tick=0)
    take.sustain(127, 0)
    take.note_on(60, 100, 0)
    take.note_off(60, 100)  # let go under the pedal: keeps sounding
    take.note_on(64, 100, 200)
    take.sustain(0, 480)  # pedal up: 60 ends here; 64 is still held by the hand
    take.note_off(64, 600)
    take.note_on(67, 100, 700)
    take.note_off(67, 800)  # no pedal any more: ends on release
    assert rows(take.notes()) == [(60, 0, 480, 100), (64, 200, 400, 100), (67, 700, 100, 100)]


def test_drain_hands_out_finished_notes_once_and_finish_ends_the_held_ones():
    take = TakeRecorder(start_tick=0)
    take.note_on(60, 100, 0)
    take.note_on(64, 100, 10)
    assert len(take.drain()) == 0  # nothing finished yet
    take.note_off(60, 100)
    assert rows(take.drain()) == [(60, 0, 100, 100)]
    assert len(take.drain()) == 0
    assert rows(take.finish(end_tick=500)) == [(64, 10, 490, 100)]
    assert take.count == 2 and take.sounding == ()
    assert len(take.finish(end_tick=900)) == 0


def test_a_key_released_that_was_down_before_the_take_is_ignored():
    take = TakeRecorder(start_tick=0)
    take.note_off(60, 100)
    assert len(take.notes()) == 0


def test_a_looped_take_overdubs_each_pass_and_cuts_notes_at_the_loop_end():
    take = TakeRecorder(start_tick=960, loop=(0, 1920))  # started inside the loop
    take.note_on(60, 100, 1000)
    take.note_off(60, 1200)
    take.note_on(62, 100, 1800)  # held across the jump back to 0
    take.note_off(62, 100)
    take.note_on(64, 100, 300)  # second pass: before where recording started
    take.note_off(64, 500)
    take.note_on(67, 100, 1900)
    assert rows(take.notes(end_tick=50)) == [
        (64, 300, 200, 100),
        (60, 1000, 200, 100),
        (62, 1800, 120, 100),
        (67, 1900, 20, 100),
    ]


# -- quantize on input ----------------------------------------------------------------------------
def test_quantize_take_moves_starts_to_the_grid_and_keeps_ends():
    notes = Notes([60, 62, 64], [10, 230, 495], [200, 260, 100], [90, 91, 92])
    q = quantize_take(notes, 240)
    assert rows(q) == [(60, 0, 210, 90), (62, 240, 250, 91), (64, 480, 115, 92)]
    half = quantize_take(notes, 240, strength=0.5)
    assert list(half.start) == [5, 235, 487]  # -7.5 rounds to even


def test_quantize_take_keeps_a_note_that_collapses_at_least_one_tick_long():
    q = quantize_take(Notes([60], [100], [10]), 240)
    assert list(q.start) == [0] and list(q.duration) == [110]
    q = quantize_take(Notes([60], [200], [10]), 240)
    assert list(q.start) == [240] and list(q.duration) == [1]
    with pytest.raises(ValueError, match="grid"):
        quantize_take(q, 0)


# -- step input -----------------------------------------------------------------------------------
def test_step_input_enters_each_key_at_the_cursor_and_advances():
    steps = StepInput(cursor=480, step=240)
    assert steps.press(60, 100) == Note(60, 480, 240, 100)
    assert steps.release(60) is True and steps.cursor == 720
    assert steps.press(62, 90) == Note(62, 720, 240, 90)
    assert steps.release(62) and steps.cursor == 960


def test_step_input_keys_held_together_form_a_chord():
    steps = StepInput(cursor=0, step=480)
    entered = [steps.press(60, 100), steps.press(64, 100), steps.press(67, 100)]
    assert [n.start for n in entered] == [0, 0, 0]
    assert steps.release(60) is False and steps.release(64) is False
    assert steps.press(72, 100) == Note(72, 0, 480, 100)  # joins while one key is still down
    assert steps.release(67) is False and steps.release(72) is True
    assert steps.cursor == 480


def test_step_input_rest_back_and_move():
    steps = StepInput(cursor=0, step=120)
    steps.rest()
    assert steps.cursor == 120
    steps.back()
    steps.back()
    assert steps.cursor == 0
    steps.move_to(999)
    assert steps.press(60, 0) is None and steps.cursor == 999
    with pytest.raises(ValueError):
        StepInput(cursor=0, step=0)


# -- metronome ------------------------------------------------------------------------------------
def test_beats_follow_the_meter_with_accents_on_each_bar():
    song = Song("m", time_signatures=[TimeSignature(0, 3, 4), TimeSignature(1440, 6, 8)])
    beats = beat_ticks(song, 0, 2400)
    assert beats[:4] == [(0, True), (480, False), (960, False), (1440, True)]
    assert beats[4:6] == [(1680, False), (1920, False)]  # 6/8: eighth-note beats
    assert beat_ticks(song, 1, 480) == []


def test_metronome_clicks_land_on_the_exact_frames_across_blocks():
    song = Song("m", tempos=[TempoChange(0, 120.0)])
    metronome = Metronome(SR)
    whole = np.zeros((SR * 2, 2), dtype=np.float32)
    for start in range(0, len(whole), 1000):  # blocks that split clicks in two
        metronome.mix_into(whole[start : start + 1000], song, start)
    click = render_click(SR, True)
    onsets = np.nonzero(np.abs(whole[:, 0]) > 1e-4)[0]
    assert onsets[0] <= 2
    beat = SR // 2  # 120 bpm
    for k in range(4):
        segment = whole[k * beat : k * beat + len(click)]
        expected = click if k % 4 == 0 else render_click(SR, False)
        np.testing.assert_allclose(segment, expected, atol=1e-6)
    assert not np.any(whole[len(click) + 10 : beat - 10])  # silence between beats


def test_count_in_is_one_bar_of_clicks_at_the_songs_tempo():
    song = Song("m", tempos=[TempoChange(0, 90.0)], time_signatures=[TimeSignature(0, 3, 4)])
    audio, seconds = count_in(song, 0, 1, SR)
    assert seconds == pytest.approx(3 * 60 / 90)
    loud = np.abs(audio[:, 0]) > 1e-4
    onsets = [i for i in np.nonzero(loud)[0] if i == 0 or not loud[i - 1]]
    beat = round(60 / 90 * SR)
    assert len(onsets) >= 3 and all(any(abs(o - k * beat) < 3 for o in onsets) for k in range(3))
    assert count_in(song, 0, 0, SR)[1] == 0.0


# -- player hooks ---------------------------------------------------------------------------------
def _song() -> Song:
    return Song("s", tracks=[Track("p", notes=Notes([60], [0], [4 * 480]))])


def test_player_mixes_the_click_into_what_it_renders():
    player = Player(_song(), SR, threaded=False)
    stream = ManualStream(player.callback, SR, 1024)
    player.play(0)
    player.fill()
    plain = stream.pump(8)
    player.set_click(Metronome(SR))
    player.play(0)
    player.fill()
    clicked = stream.pump(8)
    diff = clicked - plain
    click = render_click(SR, True)
    np.testing.assert_allclose(diff[: len(click)], click, atol=2e-3)
    player.close()


def test_held_note_sounds_until_released_then_fades():
    player = Player(_song(), SR, threaded=False)
    stream = ManualStream(player.callback, SR, 1024)
    cache = HeldNoteCache(Synth(SR), seconds=1.0)
    item = player.hold(cache.note(0, False, 60, 100))
    assert np.abs(stream.pump(4)).max() > 0.01
    player.release(item)
    tail = stream.pump(12)
    assert np.abs(tail[-1024:]).max() == 0.0  # faded out well before the 1 s note would end
    assert not player.previewing
    player.close()


def test_held_notes_are_rendered_once_per_key_and_velocity_step():
    cache = HeldNoteCache(Synth(SR), seconds=0.2, size=2)
    a = cache.note(0, False, 60, 100)
    assert cache.note(0, False, 60, 99) is a  # same velocity step
    cache.note(0, False, 62, 100)
    cache.note(0, False, 64, 100)  # evicts 60
    cache.note(0, False, 60, 100)
    assert cache.renders == 4
    assert not a.flags.writeable


def test_an_endless_player_goes_on_past_the_songs_end_until_stopped():
    empty = Song("empty", tracks=[Track("p")])
    player = Player(empty, SR, threaded=False)
    stream = ManualStream(player.callback, SR, 1024)
    player.play(0)
    player.fill()
    stream.pump(2)
    assert player.finished  # an empty song ends at once...
    player.set_endless(True)
    player.set_click(Metronome(SR))
    player.play(0)
    heard = []
    for _ in range(60):  # ...but while recording it plays on (the clicks keep time)
        player.fill()
        heard.append(stream.pump())
    assert not player.finished and player.playhead_tick() > 2 * 480
    assert np.abs(np.concatenate(heard[-25:])).max() > 0.05  # a click past the first second
    player.close()


def test_play_after_puts_the_downbeat_exactly_after_the_count_in():
    player = Player(_song(), SR, threaded=False)
    stream = ManualStream(player.callback, SR, 1024)
    count = np.zeros((30000, 2), dtype=np.float32)  # a silent "count-in" of 30000 frames
    item = player.hold(count)
    heard = [stream.pump(5)]  # 5120 frames of it have played when the GUI wakes up
    player.play_after(item, 8000, from_tick=0)
    player.fill()
    heard.append(stream.pump(6))
    audio = np.concatenate(heard)[:, 0]
    onset = int(np.nonzero(np.abs(audio) > 1e-4)[0][0])
    # Exactly 8000 after the start (the attack needs 2 frames to pass the threshold), not
    # at the next buffer boundary (6144) as a plain play() would.
    assert onset == pytest.approx(8000, abs=3)
    assert player.playhead_tick() > 0
    player.close()


def test_play_after_a_late_call_starts_at_once_and_never_waits_long():
    player = Player(_song(), SR, threaded=False)
    stream = ManualStream(player.callback, SR, 1024)
    item = player.hold(np.zeros((50000, 2), dtype=np.float32))
    stream.pump(10)
    player.play_after(item, 4000, from_tick=0)  # woke up too late: no silence in front
    player.fill()
    audio = stream.pump(2)[:, 0]
    assert np.nonzero(np.abs(audio) > 1e-4)[0][0] < 8
    player.play_after(player.hold(np.zeros((10, 2), dtype=np.float32)), 10**7, from_tick=0)
    player.fill()
    silent = stream.pump(12)[:, 0]  # capped at a quarter second of lead-in
    onset = int(np.nonzero(np.abs(silent) > 1e-4)[0][0])
    assert onset == pytest.approx(SR // 4, abs=3)
    player.close()
