"""The measuring scripts' argument handling (the model card's tables come from them):
readings and settings parse into the engine's `VoiceDecoding`, and mistakes exit with a
usage message rather than a traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
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
    assert ablation.field_override("repeat_penalty=0.15") == ("repeat_penalty", 0.15)
    assert ablation.field_override("shortest_note=3") == ("shortest_note", 3)
    assert ablation.field_override("offbeat_repeats=false") == ("offbeat_repeats", False)
    assert ablation.field_override("sixteenth_temperature=none") == ("sixteenth_temperature", None)
    for bad in ("no_such_field=1", "repeat_penalty="):
        with pytest.raises(SystemExit, match="FIELD=VALUE"):
            ablation.field_override(bad)


def test_rhythm_tells_families_split_every_feature_once():
    from studio.ml import c2st

    tells = _script("rhythm_tells")
    for name in c2st.feature_names(4):
        families = [f for f, words in tells.FAMILIES.items() if any(w in name for w in words)]
        assert len(families) == 1, (name, families)


def test_rhythm_tells_count_holds_and_lengths_voice_by_voice():
    from studio.core.pianoroll import HOLD, ONSET

    tells = _script("rhythm_tells")
    roll = np.zeros((1, 2, 16, 8), np.int8)
    # Voice 0: a half note (8 steps) from step 4, then silence; voice 1: quarters throughout.
    roll[0, 0, 4, 3], roll[0, 0, 5:12, 3] = ONSET, HOLD
    for start in range(0, 16, 4):
        roll[0, 1, start, 5], roll[0, 1, start + 1 : start + 4, 5] = ONSET, HOLD
    holds = tells.hold_shares(roll, 4)
    # Over the beat at step 8 the half note goes on; at step 12 it ends (silence counts
    # as not holding).
    assert holds[0, 0] == 0.5
    assert holds[1, 0] == 0.0  # every quarter is struck again on the beat
    assert np.all(holds[:, 1:] == 1.0)  # no note starts off the beat
    lengths = tells.length_shares(roll)
    assert lengths[0, tells.LENGTHS.index(8)] == 1.0
    # The first and last quarters touch the window's edges and are left out.
    assert lengths[1, tells.LENGTHS.index(4)] == 1.0
