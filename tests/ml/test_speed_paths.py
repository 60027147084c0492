"""The fast paths of loading and sampling compute what the plain ones do (behaviour
only; how fast they are is bench/bench_ml.py's business)."""

from __future__ import annotations

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
