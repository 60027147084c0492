"""The measuring scripts' argument handling (the model card's tables come from them):
readings and settings parse into the engine's `VoiceDecoding`, and mistakes exit with a
usage message rather than a traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from studio.ml.voicing import VoiceDecoding

SCRIPTS = Path(__file__).parents[2] / "scripts"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reading_ablation_readings_keep_the_models_other_settings():
    ablation = _script("reading_ablation")
    own = VoiceDecoding(refine_rounds=1, beat_rounds=1, offbeat_repeats=False)
    assert ablation.reading(own, "own") is own
    drawn = ablation.reading(own, "1:1:0.7:d")
    assert (drawn.beat_temperature, drawn.drawn_beat_moves) == (0.7, True)
    assert not drawn.offbeat_repeats  # the model's own rule stays
    greedy = ablation.reading(own, "2:0")
    assert (greedy.refine_rounds, greedy.beat_rounds, greedy.drawn_beat_moves) == (2, 0, False)
    for bad in ("1", "1:1:0.7:x", "1:1:0.7:d:9"):
        with pytest.raises(SystemExit, match="use R:B"):
            ablation.reading(own, bad)


def test_reading_ablation_set_takes_numbers_and_switches_of_voice_decoding():
    ablation = _script("reading_ablation")
    assert ablation._field("repeat_penalty=0.15") == ("repeat_penalty", 0.15)
    assert ablation._field("shortest_note=3") == ("shortest_note", 3)
    assert ablation._field("offbeat_repeats=false") == ("offbeat_repeats", False)
    for bad in ("no_such_field=1", "repeat_penalty="):
        with pytest.raises(SystemExit, match="FIELD=VALUE"):
            ablation._field(bad)
