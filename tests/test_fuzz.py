"""A seeded, bounded fuzz campaign over the MIDI reader, the project loader and the
checkpoint loader (scripts/fuzz.py; ``make fuzz`` runs it for longer).

Every case must end loaded (and then save again) or refused with the reader's typed error
(`SongFileError`, `CheckpointError`), within the per-case time and memory bounds of
scripts/fuzz.py. The crafted cases are the classes of bad input found by the
reliability run: same-pitch pile-ups, notes never switched off, system common bytes,
the longest delta time, thousands of tracks, huge values in projects, damaged models.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fuzz.py"
PLAN = {"midi": 2000, "project": 800, "checkpoint": 300}


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("pianola_fuzz", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pianola_fuzz"] = module
    spec.loader.exec_module(module)
    return module


def test_seeded_campaign_finds_only_typed_errors_in_bounded_time_and_memory(fuzz):
    campaign = fuzz.run(PLAN, seed=20261201, n_chorales=40)
    assert campaign.failures == []
    assert campaign.by_target == PLAN
    # Not a vacuous run: every target both loaded and refused inputs.
    assert campaign.accepted > 100 and campaign.refused > 1000
    assert campaign.slowest < fuzz.MAX_SECONDS_PER_CASE
    assert campaign.peak_bytes < 256 * 2**20


def test_the_harness_reports_untyped_errors_slowness_and_memory(fuzz, monkeypatch):
    calls = {"n": 0}

    def buggy(data, folder):
        calls["n"] += 1
        if calls["n"] == 3:
            raise IndexError("list index out of range")
        if calls["n"] == 4:
            bytearray(fuzz.MAX_PEAK_BYTES_FLOOR + len(data) * fuzz.MAX_PEAK_PER_INPUT_BYTE + 2**20)
        return False

    monkeypatch.setitem(fuzz.CHECKS, "midi", buggy)
    campaign = fuzz.run({"midi": 6}, seed=1, n_chorales=2)
    assert len(campaign.failures) == 2
    assert "case 2" in campaign.failures[0] and "IndexError" in campaign.failures[0]
    assert "case 3" in campaign.failures[1] and "allocated" in campaign.failures[1]
