"""The fast paths of loading and sampling compute what the plain ones do (behaviour
only; how fast they are is bench/bench_ml.py's business)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.ml import checkpoint as ckpt
from studio.ml import sample


def test_a_loaded_model_holds_the_checkpoints_weights_as_ordinary_parameters(tiny_run):
    model = sample.load_generator(tiny_run)  # weights assigned, no random init
    state, meta = ckpt.load_checkpoint(ckpt.latest_checkpoint(tiny_run))
    plain = sample.model_from_state(state["generator"], meta)  # initialised, then copied
    loaded, expected = model.generator.state_dict(), plain.generator.state_dict()
    assert list(loaded) == list(expected)
    for name, tensor in loaded.items():
        assert torch.equal(tensor, expected[name]), name
        assert tensor.device.type == "cpu" and tensor.dtype == torch.float32, name
    assert all(p.requires_grad for p in model.generator.parameters())
    assert not model.generator.training


def test_weights_of_another_dtype_are_converted_as_before(tiny_run):
    state, meta = ckpt.load_checkpoint(ckpt.latest_checkpoint(tiny_run))
    doubles = {k: v.double() for k, v in state["generator"].items()}
    model = sample.model_from_state(doubles, meta, owned=True)
    assert all(p.dtype == torch.float32 for p in model.generator.parameters())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_the_finite_check_finds_nan_and_inf_in_every_float_type(dtype):
    ok = torch.ones(5, dtype=dtype)
    assert ckpt.first_non_finite({"a": ok, "b": [ok, torch.arange(3)]}) is None
    for bad in (float("nan"), float("inf"), float("-inf")):
        broken = ok.clone()
        broken[3] = bad
        assert ckpt.first_non_finite({"a": ok, "b": [ok, broken]}) == "b.1"


def _counting(model):
    calls = []
    forward = model.generator.forward

    def counted(*args, **kwargs):
        calls.append(args[0].shape[0])
        return forward(*args, **kwargs)

    model.generator.forward = counted
    return calls


def _notes(songs):
    return [[t.notes for t in s.tracks] for s in songs]


def test_the_refined_run_takes_its_first_pass_from_the_draft_and_writes_the_same_music(tiny_run):
    from studio.ml.generation import GenerationRequest, SamplingOptions, run

    model = sample.load_generator(tiny_run)
    request = GenerationRequest(
        "generate", bars=8, variations=3, seed=5, sampling=SamplingOptions(temperature=0.7)
    )
    sample.FIRST_PASS.clear()
    alone = next(iter(run(request, model=model, drafts=False)))
    calls = _counting(model)
    sample.FIRST_PASS.clear()
    draft, refined = run(request, model=model)
    c = model.config
    plan = sample.plan_windows(
        np.zeros((c.n_tracks, 8 * c.steps_per_bar), bool), c.n_steps, c.steps_per_bar, 2
    )
    assert draft.stage == "draft" and refined.stage == "refined"
    assert len(calls) == len(plan) + sum(p for _, p in plan) - 1  # one answered by the memo
    assert _notes(refined.songs) == _notes(alone.songs)


def test_the_first_pass_memo_is_not_used_after_the_weights_change(tiny_run):
    model = sample.load_generator(tiny_run)
    sample.FIRST_PASS.clear()
    before = sample.generate(model, bars=4, variations=2, seed=1)
    calls = _counting(model)
    with torch.no_grad():
        model.generator.head.bias.add_(3.0)  # in place: the memo must notice
    after = sample.generate(model, bars=4, variations=2, seed=1)
    assert len(calls) == 1 + 2 * model.config.n_tracks  # every pass computed
    assert _notes(after) != _notes(before)


def test_bfloat16_inference_is_opt_in_and_writes_valid_music(tiny_run, monkeypatch):
    model = sample.load_generator(tiny_run)
    cpu = torch.device("cpu")
    monkeypatch.delenv("PIANOLA_INFERENCE_PRECISION", raising=False)
    assert sample.inference_precision(cpu) == "float32"
    assert sample._network(model.generator, "float32") is model.generator
    plain = sample.generate(model, bars=8, variations=2, seed=3)
    monkeypatch.setenv("PIANOLA_INFERENCE_PRECISION", "bf16")
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        assert sample.inference_precision(cpu) == "float32"
        return
    assert sample.inference_precision(cpu) == "bfloat16"
    assert sample.inference_precision(torch.device("meta")) == "float32"  # CPUs only
    fast = sample.generate(model, bars=8, variations=2, seed=3)
    copy = sample._network(model.generator, "bfloat16")
    assert copy is not model.generator and copy is sample._network(model.generator, "bfloat16")
    for song, other in zip(fast, plain, strict=True):
        assert [t.name for t in song.tracks] == [t.name for t in other.tracks]
        assert song.end_tick <= 8 * 4 * song.ticks_per_beat
    monkeypatch.delenv("PIANOLA_INFERENCE_PRECISION")
    assert _notes(sample.generate(model, bars=8, variations=2, seed=3)) == _notes(plain)


@pytest.mark.parametrize("precision", ["", "bf16"])
def test_sampling_inside_inference_mode_works_in_both_precisions(tiny_run, monkeypatch, precision):
    monkeypatch.setenv("PIANOLA_INFERENCE_PRECISION", precision)
    model = sample.load_generator(tiny_run)  # a new generator: no bfloat16 copy yet
    with torch.inference_mode():  # as bench/bench_ml.py calls the service
        inside = sample.generate(model, bars=8, variations=2, seed=6)
        again = sample.generate(model, bars=8, variations=2, seed=6)
    outside = sample.generate(model, bars=8, variations=2, seed=6)
    assert _notes(inside) == _notes(outside) == _notes(again)


def test_steps_every_row_follows_are_decoded_as_the_full_step_would():
    """Where every variation follows given notes, `decode_voice` skips the choice it would
    discard. A row that hears nothing given forces the full step for the others: their
    notes must not change."""
    from studio.ml.voicing import FixedVoice, VoiceDecoding, decode_voice

    rng = np.random.default_rng(11)
    n, s, p = 6, 64, 24
    frame = rng.random((n, s, p)) ** 6
    frame /= frame.sum(axis=2, keepdims=True) / rng.uniform(0.1, 1.0, (n, s, 1))
    onset = rng.random((n, s, p)) ** 2
    bass = FixedVoice(rng.integers(-1, 8, (n, s)), below=True)
    given_top = np.repeat(rng.integers(-1, p, (n, s // 4)), 4, axis=1)
    given_top[:, 8:12] = -1  # a rest in the given music
    given_onset = np.zeros((n, s), bool)
    given_onset[:, ::4] = True
    known = np.zeros((n, s), bool)
    known[:, : s // 2] = True  # the bars a window shares with the one before
    known[:, 40:44] = True

    def decoded(rows: slice, force_full: bool) -> np.ndarray:
        args = [a[rows] for a in (frame, onset, given_top, given_onset, known)]
        fixed = [FixedVoice(bass.top[rows], below=True)]
        if force_full:  # one more row, given nothing, so no step is settled for all
            args = [np.concatenate([a, a[:1]]) for a in args]
            args[4][-1] = False
            fixed = [FixedVoice(np.concatenate([bass.top[rows], bass.top[:1]]), below=True)]
        f, o, top, starts, mask = args
        return decode_voice(f, o, VoiceDecoding(), fixed, top, starts, mask)[: rows.stop]

    fast, full = decoded(slice(0, n), False), decoded(slice(0, n), True)
    assert np.array_equal(fast, full)
    assert (fast[:, : s // 2] > 0).any()  # the given notes are there
