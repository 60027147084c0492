"""Sampling: every task returns proper Songs, and conditioning really conditions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from studio.core.midi_io import load_midi
from studio.core.pianoroll import HOLD, ONSET
from studio.core.song import Song, TempoChange, TimeSignature
from studio.ml import checkpoint as ckpt
from studio.ml import sample
from studio.ml.bundled import bundled_models
from studio.ml.data import find_midi_files
from studio.ml.errors import CheckpointError, NoBundledModelError
from studio.ml.models import Generator, preset_config


@pytest.fixture(scope="module")
def model(tiny_run):
    return sample.load_generator(tiny_run)


@pytest.fixture(scope="module")
def chorale(chorales) -> Song:
    return load_midi(find_midi_files(chorales)[1])


def test_generate_returns_songs_with_the_models_tracks(model):
    songs = sample.generate(model, bars=8, variations=3, seed=4, temperature=1.0, tempo=72)
    assert len(songs) == 3
    for song in songs:
        assert [t.name for t in song.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
        assert [t.colour for t in song.tracks] == [t["colour"] for t in model.templates]
        assert song.tempos[0].bpm == 72
        assert (song.time_signatures[0].numerator, song.time_signatures[0].denominator) == (4, 4)
        assert song.end_tick <= 8 * 4 * song.ticks_per_beat
    again = sample.generate(model, bars=8, variations=3, seed=4, temperature=1.0, tempo=72)
    assert all(a == b for a, b in zip(songs, again, strict=True))  # seeded


def test_harmonize_keeps_the_melody_note_for_note(model, chorale):
    melody = Song(
        "tune",
        chorale.ticks_per_beat,
        [TempoChange(0, 80)],
        [TimeSignature(0, 4, 4)],
        [chorale.tracks[0].copy()],
    )
    melody.tracks[0].name = "Flute"
    songs = sample.harmonize(model, melody, keep_tracks=[0], variations=2, seed=1)
    for song in songs:
        assert song.tracks[0].notes == melody.tracks[0].notes
        assert song.tracks[0].name == "Flute"
        assert len(song.tracks) == 4 and song.tempos[0].bpm == 80
        assert any(len(t.notes) for t in song.tracks[1:])


def test_infill_keeps_everything_outside_the_range(model, chorale):
    tpb = chorale.ticks_per_beat
    start, end = 4 * tpb * 2, 4 * tpb * 4  # bars 3-4
    songs = sample.infill(model, chorale, start, end, variations=2, seed=2, temperature=1.0)
    for song in songs:
        for before, after in zip(chorale.tracks, song.tracks, strict=True):
            outside = lambda n: n.take(np.nonzero((n.start < start) | (n.start >= end))[0])  # noqa: E731
            assert outside(after.notes).same_notes(outside(before.notes))
            inside = after.notes.take(
                np.nonzero((after.notes.start >= start) & (after.notes.start < end))[0]
            )
            assert (inside.start + inside.duration <= end).all()
        assert song.tempos == chorale.tempos


def test_infill_of_some_tracks_leaves_the_others_alone(model, chorale):
    tpb = chorale.ticks_per_beat
    songs = sample.infill(model, chorale, 0, 8 * tpb, tracks=[1, 2], seed=3)
    assert songs[0].tracks[0].notes == chorale.tracks[0].notes
    assert songs[0].tracks[3].notes == chorale.tracks[3].notes


def test_continue_keeps_the_primer_and_adds_bars(model, chorale):
    tpb = chorale.ticks_per_beat
    primer = chorale.copy()
    for track in primer.tracks:
        track.notes = track.notes.take(np.nonzero(track.notes.start < 8 * tpb)[0])
    songs = sample.continue_(model, primer, bars=2, variations=2, seed=5, temperature=1.0)
    for song in songs:
        for given, out in zip(primer.tracks, song.tracks, strict=True):
            head = out.notes.take(np.nonzero(out.notes.start < primer.end_tick)[0])
            assert head.same_notes(given.notes)
        assert song.end_tick > primer.end_tick
        assert song.end_tick <= 8 * tpb + 2 * 4 * tpb + tpb


def test_interpolate_morphs_between_seeds(model):
    songs = sample.interpolate(model, 1, 2, steps=4, bars=4)
    assert len(songs) == 4
    a = sample.generate(model, bars=4, variations=1, seed=1)[0]
    assert songs[0].tracks[0].notes.same_notes(a.tracks[0].notes)


def test_monophonic_decoding_keeps_one_pitch_per_step():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 8, 32, 24, generator=g)
    for temperature in (0.0, 1.0):
        roll = sample.decode(logits, [True, True, False, False], temperature, 0.5, g)
        assert ((roll[:, :2] > 0).sum(axis=-1) <= 1).all()
        assert set(np.unique(roll)) <= {0, HOLD, ONSET}


def test_threshold_decoding_is_deterministic_and_monotone():
    logits = torch.randn(2, 2, 16, 12)
    a = sample.decode(logits, [False], 0.0, 0.5)
    b = sample.decode(logits, [False], 0.0, 0.5)
    assert np.array_equal(a, b)
    assert (sample.decode(logits, [False], 0.0, 0.8) > 0).sum() <= (a > 0).sum()


def test_remove_short_notes():
    roll = np.zeros((1, 2, 8, 4), np.int8)
    roll[0, 0, 0:3, 1] = [ONSET, HOLD, HOLD]
    roll[0, 0, 3, 2] = ONSET  # a 1-step blip after a held note
    roll[0, 1, 5, 0] = ONSET  # polyphonic track: just removed
    out = sample.remove_short_notes(roll, 2, [True, False])
    assert out[0, 0, 3, 2] == 0 and out[0, 0, 3, 1] == HOLD  # voice holds on
    assert (out[0, 1] == 0).all()


def test_default_model_missing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(ckpt, "bundled_models_dir", lambda: tmp_path)
    with pytest.raises(NoBundledModelError, match="no bundled model yet"):
        sample.load_generator("default")


def test_bundled_models_go_by_name_the_default_first(monkeypatch, tmp_path):
    for name in ("zeta.pt", "bach-phrases.pt", "bach-lines.pt", "bach-default.pt", "notes.md"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(ckpt, "bundled_models_dir", lambda: tmp_path)
    found = bundled_models(tmp_path)
    assert [m.name for m in found] == ["default", "bach-default", "bach-phrases", "zeta"]
    assert found[0].label == "Bach chorales" and found[0].path.name == "bach-lines.pt"
    assert found[2].label == "Bach, phrase ends" and found[3].label == "zeta"
    assert ckpt.resolve_model("default") == tmp_path / "bach-lines.pt"
    assert ckpt.resolve_model("bach-lines") == tmp_path / "bach-lines.pt"  # its own name too
    assert ckpt.resolve_model("bach-default") == tmp_path / "bach-default.pt"
    assert ckpt.resolve_model("bach-phrases") == tmp_path / "bach-phrases.pt"
    with pytest.raises(
        CheckpointError, match=r"bundled models: default, bach-default, bach-phrases, zeta"
    ):
        ckpt.resolve_model("bach-fugues")
    (tmp_path / "bach-lines.pt").unlink()  # no default file: the first bundled one serves
    assert ckpt.resolve_model("default") == tmp_path / "bach-default.pt"


def test_a_run_folder_named_like_a_bundled_model_wins(monkeypatch, tmp_path, tiny_run):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / f"{tiny_run.name}.pt").write_bytes(b"")
    monkeypatch.setattr(ckpt, "bundled_models_dir", lambda: bundled)
    monkeypatch.chdir(tiny_run.parent)  # the name is a folder here: the user's run
    assert ckpt.resolve_model(tiny_run.name).resolve() == ckpt.latest_checkpoint(tiny_run)
    monkeypatch.chdir(tmp_path)  # and not here: the bundled model
    assert ckpt.resolve_model(tiny_run.name) == bundled / f"{tiny_run.name}.pt"


def test_other_architecture_is_refused(tiny_run, tmp_path):
    state, meta = ckpt.load_checkpoint(ckpt.latest_checkpoint(tiny_run))
    meta["arch_version"] = "someone-elses-gan-9"
    path = tmp_path / "other.pt"
    torch.save({**state, "meta": __import__("json").dumps(meta)}, path)
    with pytest.raises(CheckpointError, match="architecture"):
        sample.load_generator(path)


def test_mismatched_weights_are_refused(tiny_run, tmp_path):
    _, meta = ckpt.load_checkpoint(ckpt.latest_checkpoint(tiny_run))
    other = Generator(preset_config("tiny", n_tracks=2, n_pitches=32)).state_dict()
    path = tmp_path / "wrong.pt"
    ckpt.save_checkpoint(
        path,
        {"generator": other},
        {k: v for k, v in meta.items() if k not in ("format", "arch_version")},
    )
    with pytest.raises(CheckpointError, match="does not match"):
        sample.load_generator(path)


def test_truncated_and_garbage_files_are_refused(tiny_run, tmp_path):
    good = ckpt.latest_checkpoint(tiny_run).read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        sample.load_generator(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError):
        sample.load_generator(garbage)
    with pytest.raises(CheckpointError, match="not found"):
        sample.load_generator(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="no checkpoints"):
        sample.load_generator(tmp_path)


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_object_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"meta": "{}", "generator": _Payload(str(marker))}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="refused"):
        sample.load_generator(path)
    assert not marker.exists()


def test_windows_centre_short_holes_and_overlap_long_ones():
    unknown = np.zeros(256, bool)
    unknown[128:144] = True  # one bar to infill in a 16-bar song
    assert sample.window_start(unknown, 64, 16) == 96  # context both sides, on a bar line
    unknown[:] = False
    unknown[80:] = True  # continue after 5 bars
    assert sample.window_start(unknown, 64, 16) == 48
    unknown[:] = True  # from scratch
    assert sample.window_start(unknown, 64, 16) == 0
    unknown[:] = False
    unknown[250:] = True  # the tail: the last window still fits
    assert sample.window_start(unknown, 64, 16) == 192


def test_each_variation_depends_on_its_own_seed_alone(model):
    """Latent and sampling noise per seed: variation 5 is the same made alone or in a batch."""
    batch = sample.generate(model, bars=4, seeds=[3, 5, 9], temperature=1.0)
    alone = sample.generate(model, bars=4, seeds=[5], temperature=1.0)
    assert batch[1].tracks == alone[0].tracks
    assert batch[0].tracks != batch[1].tracks
    # seed, seed + 1, ... when no seeds are given
    assert sample.generate(model, bars=4, variations=2, seed=4, temperature=1.0)[1] == alone[0]


def test_pass_callback_follows_the_window_plan(model):
    calls: list[tuple[int, int]] = []
    sample.generate(model, bars=8, variations=2, on_pass=lambda d, t: calls.append((d, t)))
    cfg = model.config
    length = 8 * cfg.steps_per_bar
    padded = sample.padded_steps(length, cfg.n_steps, cfg.steps_per_bar)
    plan = sample.plan_windows(
        np.zeros((cfg.n_tracks, padded), bool),
        cfg.n_steps,
        cfg.steps_per_bar,
        model.voicing.refine_rounds,
    )
    total = sum(p for _, p in plan)
    assert len(plan) == 3 and total == 3 * (1 + model.voicing.refine_rounds * cfg.n_tracks)
    assert {t for _, t in calls} == {total}
    assert sorted({d for d, _ in calls}) == list(range(total))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_sixteenths_pass_hides_only_the_steps_between_eighths_and_keeps_the_eighths(model):
    """The reading's last pass (`VoiceDecoding.sixteenth_temperature`) over each window
    asks the network only where voices move between their eighths: one more pass a
    window, and the music on the eighth grid stays what the passes before it wrote."""
    from dataclasses import replace

    from studio.ml.metrics import top_pitch

    known = np.zeros((1, 3, 8), bool)
    known[:, 0] = True  # a given melody stays given
    (mask,) = sample.sixteenth_masks(known, True)
    assert mask[:, 0].all() and mask[:, 1:, ::2].all() and not mask[:, 1:, 1::2].any()
    assert sample.sixteenth_masks(known, False) == []
    assert sample.sixteenth_masks(np.ones((1, 3, 8), bool), True) == []  # nothing hidden
    own = model.voicing
    drawn = replace(own, sixteenth_temperature=1.0)
    cfg = model.config
    calls: list[tuple[int, int]] = []

    def write(voicing, on_pass=None):
        blank = np.zeros((cfg.n_tracks, cfg.n_steps, cfg.n_pitches), np.int8)
        given = np.zeros(blank.shape[:2], bool)
        seeds = [0, 1, 2, 3]
        return sample._variations_of(model, blank, given, seeds, 0.0, 0.5, 1, voicing, on_pass)

    plain = write(own)
    with_pass = write(drawn, lambda d, t: calls.append((d, t)))
    assert {t for _, t in calls} == {1 + own.passes_per_voice * cfg.n_tracks + 1}
    eighths = slice(0, None, 2)
    assert np.array_equal(top_pitch(plain)[..., eighths], top_pitch(with_pass)[..., eighths])
    assert not np.array_equal(plain, with_pass)  # this barely trained network moves a lot
    # A continuation's opening: the network is not shown its sixteenth steps (a window
    # half given, half hidden is not what it learnt), and the pass leaves it as given.
    half = np.zeros((1, 3, 8), bool)
    half[:, :, :4] = True
    (mask,) = sample.sixteenth_masks(half, True)
    assert mask[:, :, ::2].all() and not mask[:, :, 1::2].any()
    given = with_pass[:1].copy()
    opening = np.zeros(given.shape[:3], bool)
    opening[:, :, : cfg.n_steps // 2] = True
    cont = sample._variations_of(model, given[0], opening[0], [5], 0.0, 0.5, 1, drawn)
    assert np.array_equal(cont[0, :, : cfg.n_steps // 2], given[0, :, : cfg.n_steps // 2])


def test_a_raising_pass_callback_stops_the_work(model):
    class Stop(Exception):
        pass

    def stop_at_third(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        sample.generate(model, bars=8, on_pass=stop_at_third)
