"""Phrase-end (fermata) conditioning: the sidecar, window marks, training and cadence plans."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from ml_helpers import CHORALES, make_chorale_folder, tiny_config

from studio.ml import checkpoint as ckpt
from studio.ml import phrases as ph
from studio.ml import train as tr
from studio.ml.data import scan_dataset
from studio.ml.errors import DatasetError, TrainingError
from studio.paths import bach_dataset_dir

BEAT = 4  # steps per quarter note


@pytest.fixture(scope="module")
def phrased(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test chorales with the bundled set's phrases.json entries for them."""
    folder = make_chorale_folder(tmp_path_factory.mktemp("phrased"))
    bundled, tpb = ph.read_sidecar(bach_dataset_dir())  # type: ignore[misc]
    ph.write_sidecar(folder, {f"{n}.mid": bundled[f"{n}.mid"] for n in CHORALES}, tpb)
    return folder


@pytest.fixture(scope="module")
def phrase_run(tmp_path_factory: pytest.TempPathFactory, phrased: Path, cache_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("phrase_run")
    config = tiny_config(phrased, out, cache_dir, steps=4, phrase_conditioning=True)
    events = list(tr.train(config))
    assert events[-1].reason == "completed"
    return out


def test_the_bundled_chorales_carry_their_fermatas():
    files, tpb = ph.read_sidecar(bach_dataset_dir())  # type: ignore[misc]
    midi = sorted(p.name for p in bach_dataset_dir().glob("*.mid"))
    assert sorted(files) == midi
    marked = [n for n, ticks in files.items() if ticks]
    assert len(marked) >= 0.95 * len(midi)
    # BWV 253: four phrases, each ending on beat 3 of a 4/4 bar (the pickup is padded,
    # so bar lines fall every 1,920 ticks).
    assert tpb == 480 and files["bwv253.mid"] == [4800, 9600, 14400, 19200]


def test_window_marks_show_one_beat_from_each_phrase_end():
    per_file = [np.array([10, 40]), None]
    marks = ph.window_marks(per_file, np.array([0, 0, 1]), np.array([0, 32, 0]), 16, BEAT)
    assert marks.shape == (3, ph.PHRASE_PLANES, 16)
    assert marks[0, ph.KNOWN].all() and marks[1, ph.KNOWN].all()
    assert np.flatnonzero(marks[0, ph.CADENCE]).tolist() == [10, 11, 12, 13]
    assert np.flatnonzero(marks[1, ph.CADENCE]).tolist() == [8, 9, 10, 11]  # 40 - 32
    assert not marks[2].any()  # a file without phrase ends: unknown, not "no cadence"


def test_cadence_plan_places_a_phrase_end_every_n_bars():
    plan = ph.cadence_plan(128, 16, every_bars=2, position=8, beat_steps=BEAT)
    assert plan[ph.KNOWN].all()
    onsets = [s for s in range(128) if plan[ph.CADENCE, s] and not plan[ph.CADENCE, s - 1]]
    assert onsets == [24, 56, 88, 120]
    assert not ph.cadence_plan(64, 16, 0, 8, BEAT).any()  # 0: no plan at all
    four = ph.cadence_plan(128, 16, 4, 8, BEAT)
    assert np.flatnonzero(np.diff(four[ph.CADENCE]) > 0).tolist() == [55, 119]


def test_cadence_positions_follow_the_data_per_metre():
    ts = np.array([[0, 4, 4]])
    per_file = [np.array([24, 56, 88]), np.array([8, 40]), None]
    assert ph.cadence_positions(per_file, [ts, ts, ts], BEAT) == {"4/4": 8}
    positions = {"4/4": 8, "3/4": 0}
    assert ph.cadence_step(positions, (3, 4), BEAT) == 0
    assert ph.cadence_step(positions, (4, 4), BEAT) == 8
    # A metre the data never had: the same share of the bar, on a beat (3/2: beat 3 of 6/4).
    assert ph.cadence_step({"4/4": 8}, (3, 2), BEAT) == 16


def test_a_damaged_sidecar_is_refused_with_its_name(phrased: Path, tmp_path: Path):
    folder = make_chorale_folder(tmp_path / "bad")
    (folder / ph.SIDECAR_NAME).write_text("{not json")
    with pytest.raises(DatasetError, match=r"phrases\.json"):
        scan_dataset(folder, use_cache=False)
    (folder / ph.SIDECAR_NAME).write_text(json.dumps({"format": "other", "files": {}}))
    with pytest.raises(DatasetError, match="pianola-phrases-1"):
        scan_dataset(folder, use_cache=False)


def test_scan_reads_phrase_ends_and_where_they_fall(phrased: Path, cache_dir: Path):
    scan = scan_dataset(phrased, cache_dir=cache_dir)
    assert scan.phrase_files == len(CHORALES) - 1  # one chorale is held out
    assert scan.cadence_positions.get("4/4") == 8  # beat 3, as in Bach's chorales
    marks = scan.train_set.phrases_of(np.arange(len(scan.train_set)))
    assert marks[:, ph.KNOWN].all()
    # The marks sit on notes that start a phrase's last chord: every voice has an onset.
    on = scan.train_set.render(np.arange(len(scan.train_set)), 30, 64)
    starts = marks[:, ph.CADENCE, :-1] - marks[:, ph.CADENCE, 1:] < 0  # step before a mark
    first = np.argwhere(np.concatenate([marks[:, ph.CADENCE, :1] > 0, starts], axis=1))
    assert len(first) > 10
    sounding = [(on[w, :, s] == 2).any(axis=-1).sum() for w, s in first]
    assert np.mean(sounding) >= 3


def test_phrase_conditioning_needs_phrase_ends(chorales: Path, cache_dir: Path, tmp_path: Path):
    config = tiny_config(chorales, tmp_path / "run", cache_dir, phrase_conditioning=True)
    with pytest.raises(TrainingError, match=r"phrases\.json"):
        tr.Trainer(config)


def test_training_shows_some_windows_as_unknown(phrased: Path, cache_dir: Path, tmp_path: Path):
    config = tiny_config(phrased, tmp_path / "run", cache_dir, phrase_conditioning=True)
    trainer = tr.Trainer(config)
    hidden = 0
    for step in range(20):
        marks = trainer.batch_conditions(step, 8)["phrases"]
        hidden += int((marks[:, ph.KNOWN, 0] == 0).sum())
    assert 0.1 < hidden / 160 < 0.4  # UNKNOWN_SHARE = 0.25
    again = trainer.batch_conditions(3, 8)["phrases"]
    torch.testing.assert_close(again, trainer.batch_conditions(3, 8)["phrases"])


def test_init_from_a_model_without_phrases_starts_where_it_left_off(
    tiny_run, phrased: Path, cache_dir: Path, tmp_path: Path
):
    from studio.ml.models import Generator, ModelConfig

    config = tiny_config(
        phrased, tmp_path / "run", cache_dir, init_from=str(tiny_run), phrase_conditioning=True
    )
    trainer = tr.Trainer(config)
    source, meta = ckpt.load_checkpoint(ckpt.latest_checkpoint(tiny_run))
    plain = Generator(ModelConfig.from_dict(meta["model_config"]))
    plain.load_state_dict(source["generator"])
    plain.eval()
    trainer.g.eval()
    cfg = trainer.model_cfg
    z = torch.randn(2, cfg.z_dim, generator=torch.Generator().manual_seed(1))
    ctx = torch.zeros(2, 2 * cfg.n_tracks, cfg.n_steps, cfg.n_pitches)
    mask = torch.zeros(2, cfg.n_tracks, cfg.n_steps)
    plan = torch.from_numpy(ph.cadence_plan(cfg.n_steps, 16, 2, 8, BEAT))[None]
    with torch.no_grad():
        torch.testing.assert_close(trainer.g(z, ctx, mask, phrases=plan), plain(z, ctx, mask))


def test_a_phrase_model_hears_the_plan(phrase_run: Path):
    from studio.ml.sample import load_generator

    model = load_generator(phrase_run)
    assert model.phrase_conditioned
    assert model.meta["data"]["cadence_positions"]["4/4"] == 8
    cfg = model.config
    z = torch.randn(1, cfg.z_dim, generator=torch.Generator().manual_seed(0))
    ctx = torch.zeros(1, 2 * cfg.n_tracks, cfg.n_steps, cfg.n_pitches)
    mask = torch.zeros(1, cfg.n_tracks, cfg.n_steps)
    two = torch.from_numpy(model.phrase_plan(cfg.n_steps, None, 2))[None]  # type: ignore[arg-type]
    with torch.no_grad():
        planned = model.generator(z, ctx, mask, phrases=two)
        unknown = model.generator(z, ctx, mask)
    assert not torch.allclose(planned, unknown)
    assert model.phrase_plan(cfg.n_steps, None, 0).sum() == 0  # type: ignore[union-attr]


def test_cli_cadence_every(phrase_run: Path, tmp_path: Path):
    def pianola(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "studio", "generate", "--bars", "4", "--variations", "1"]
        return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300)

    done = pianola("--model", str(phrase_run), "--cadence-every", "2", "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "a").glob("*.mid"))) == 1
    refused = pianola("--cadence-every", "2", "--out", str(tmp_path / "b"))  # bundled model
    assert refused.returncode == 2 and "phrase" in refused.stderr
    bad = pianola("--model", str(phrase_run), "--cadence-every", "99", "--out", str(tmp_path / "c"))
    assert bad.returncode == 2 and "cadence-every" in bad.stderr


def test_new_music_gets_the_default_plan_and_given_music_none_unless_asked():
    from studio.ml.generation import GenerationRequest, cadence_every

    assert cadence_every(GenerationRequest(mode="generate")) is None  # the model's default
    assert cadence_every(GenerationRequest(mode="continue")) is None
    assert cadence_every(GenerationRequest(mode="harmonize")) == 0
    assert cadence_every(GenerationRequest(mode="infill")) == 0
    assert cadence_every(GenerationRequest(mode="harmonize", cadence_every=4)) == 4


def test_the_cadence_zone_covers_two_beats_from_each_phrase_end():
    marks = torch.zeros(1, 16)
    marks[0, 4:8] = 1.0  # the first beat of a phrase end at step 4
    zone = tr.cadence_zone(marks, BEAT)
    assert torch.nonzero(zone[0]).flatten().tolist() == list(range(4, 12))
    assert marks[0].sum() == 4  # the plan itself is left alone
