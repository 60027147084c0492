"""Teaching the metre: the network told each window's bar and beat length (metre planes),
and the windows of a rarer metre drawn more often (oversampling)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from studio.cli import _train_config as cli_train_config
from studio.cli import build_parser as cli_build_parser
from studio.cli import main as cli_main
from studio.ml import train as tr
from studio.ml.models import (
    METRE_PLANE_GAIN,
    Generator,
    metre_length_planes,
    preset_config,
)
from studio.ml.train import oversampled_pool, warm_start

CFG = preset_config("tiny", metre_planes=True)


@pytest.mark.parametrize(
    ("metre", "bar_quarters", "beat_quarters"),
    [((4, 4), 4, 1), ((3, 4), 3, 1), ((6, 8), 3, 1.5), ((2, 2), 4, 2), ((3, 2), 6, 2),
     ((12, 8), 6, 1.5)],
)  # fmt: skip
def test_planes_state_the_bars_and_beats_length(metre, bar_quarters, beat_quarters):
    planes = metre_length_planes(CFG, torch.tensor([metre]), 3, torch.device("cpu"), torch.float32)
    assert planes.shape == (3, 2, CFG.n_steps, CFG.n_pitches)
    bar, beat = planes[0, 0], planes[0, 1]
    assert torch.allclose(bar, torch.tensor(METRE_PLANE_GAIN * math.log2(bar_quarters / 4)))
    assert torch.allclose(beat, torch.tensor(METRE_PLANE_GAIN * math.log2(beat_quarters)))


def test_four_four_and_the_configs_own_bar_give_zero_planes():
    for metres in (None, torch.tensor([[4, 4]])):
        planes = metre_length_planes(CFG, metres, 2, torch.device("cpu"), torch.float32)
        assert planes.abs().max() == 0


def _inputs(batch: int = 2):
    torch.manual_seed(0)
    z = torch.randn(batch, CFG.z_dim)
    context = (torch.rand(batch, 2 * CFG.n_tracks, CFG.n_steps, CFG.n_pitches) > 0.97).float()
    mask = torch.zeros(batch, CFG.n_tracks, CFG.n_steps)
    mask[:, :2] = 1
    return z, context, mask


def test_the_generator_writes_differently_when_told_another_bar_length():
    g = Generator(CFG).eval()
    z, context, mask = _inputs()
    with torch.no_grad():
        four = g(z, context, mask, metres=torch.tensor([[4, 4], [4, 4]]))
        three = g(z, context, mask, metres=torch.tensor([[3, 4], [3, 4]]))
        # 6/8 and 3/4 share a bar length; only the beat plane (and phase) tells them apart.
        six = g(z, context, mask, metres=torch.tensor([[6, 8], [6, 8]]))
    assert not torch.allclose(four, three) and not torch.allclose(three, six)


def test_a_model_warm_started_with_the_planes_writes_four_four_as_its_source():
    source = Generator(preset_config("tiny")).eval()
    target = Generator(CFG).eval()
    warm_start(target, source.state_dict())
    z, context, mask = _inputs()
    four = torch.tensor([[4, 4], [4, 4]])
    with torch.no_grad():
        before, after = source(z, context, mask, metres=four), target(z, context, mask, metres=four)
    assert torch.equal(before, after)


def test_cli_trains_with_metre_planes_and_the_model_keeps_them(
    chorales, cache_dir, tmp_path, capsys
):
    from studio.ml.sample import load_generator

    out = tmp_path / "run"
    code = cli_main(
        ["train", "--data", str(chorales), "--out", str(out), "--preset", "tiny", "--steps", "2",
         "--batch-size", "4", "--device", "cpu", "--metre-planes", "--metrics-every", "0",
         "--cache-dir", str(cache_dir), "--oversample-metres", "2"]
    )  # fmt: skip
    assert code == 0
    # 73 windows, the 3/4 chorale's drawn twice: the log says how many an epoch draws.
    assert "(73 windows, 90 drawn per epoch)" in capsys.readouterr().out
    model = load_generator(out)
    assert model.config.metre_planes and (3, 4) in model.trained_metres
    assert model.meta["data"]["metre_planes"] is True


def test_oversampling_repeats_the_windows_of_the_rarer_metres():
    metres = np.array([[4, 4], [3, 4], [4, 4], [3, 2], [4, 4]])
    assert oversampled_pool(metres, 1).tolist() == [0, 1, 2, 3, 4]
    pool = oversampled_pool(metres, 3)
    assert sorted(pool.tolist()) == [0, 1, 1, 1, 2, 3, 3, 3, 4]


def test_a_run_draws_its_three_four_windows_more_often_when_oversampled(
    chorales, cache_dir, tmp_path
):
    from ml_helpers import tiny_config

    shares = []
    for times in (1, 4):
        config = tiny_config(chorales, tmp_path / f"x{times}", cache_dir, oversample_metres=times)
        trainer = tr.Trainer(config)
        drawn = np.concatenate([trainer._batch_draw(step, 8)[1] for step in range(40)])
        metres = trainer.windows.metres_of(drawn)
        shares.append(float((metres[:, 0] == 3).mean()))
    # The folder holds one 3/4 chorale among six in 4/4.
    assert 0 < shares[0] < 0.4 and shares[1] > 1.8 * shares[0]


def test_cli_takes_the_oversampling_into_the_runs_config():
    args = cli_build_parser().parse_args(
        ["train", "--data", "x", "--out", "o", "--oversample-metres", "4"]
    )
    assert cli_train_config(args).oversample_metres == 4
    assert cli_main(["train", "--data", "x", "--out", "o", "--oversample-metres", "0"]) == 2
