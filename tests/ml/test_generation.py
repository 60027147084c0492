"""The generation service: one seed rule, drafts then refined music, cancel, clear refusals,
and harmonize placing the melody on the voice whose range fits it."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from studio.core.midi_io import load_midi
from studio.core.song import Song, TempoChange, TimeSignature
from studio.ml import generation as gen
from studio.ml import keying, sample
from studio.ml.data import find_midi_files
from studio.ml.voicing import VoiceDecoding

VOICES = ["Soprano", "Alto", "Tenor", "Bass"]


@pytest.fixture(scope="module")
def tiny(tiny_run):
    return gen.load_model(tiny_run)


@pytest.fixture(scope="module")
def bundled():
    return gen.load_model("default")


@pytest.fixture(scope="module")
def chorale(chorales) -> Song:
    return load_midi(find_midi_files(chorales)[1])


def notes_of(song: Song) -> list[tuple]:
    return [tuple(map(tuple, t.notes.columns()[:4])) for t in song.tracks]


def one_voice(chorale: Song, voice: str, name: str, bars: int = 2) -> Song:
    """A single line of the chorale (its first ``bars`` bars) in a track called ``name``."""
    track = chorale.tracks[[t.name for t in chorale.tracks].index(voice)].copy()
    end = bars * chorale.ticks_per_bar(0)
    track.notes = track.notes.take(np.nonzero(track.notes.start < end)[0])
    track.name = name
    return Song(
        "tune", chorale.ticks_per_beat, [TempoChange(0, 90)], [TimeSignature(0, 4, 4)], [track]
    )


def final_songs(request: gen.GenerationRequest, model, **kw) -> list[Song]:
    songs: list[Song] = []
    for result in gen.run(request, model=model, drafts=False, **kw):
        songs.extend(result.songs)
    return songs


# ------------------------------------------------------------------------------ seeds
def test_same_request_twice_gives_the_same_notes_for_every_variation(tiny):
    request = gen.GenerationRequest(
        "generate", bars=2, variations=3, seed=5, sampling=gen.SamplingOptions(temperature=1.0)
    )
    first, again = final_songs(request, tiny), final_songs(request, tiny)
    assert len(first) == 3
    assert [notes_of(s) for s in first] == [notes_of(s) for s in again]
    assert len({str(notes_of(s)) for s in first}) == 3  # the variations differ


def test_variation_k_is_seed_plus_k_whatever_the_batch(tiny, monkeypatch):
    """One seed rule: variation 2 of seed 7 is variation 0 of seed 9, also when the
    variations are made in batches of two (sampling noise included)."""
    sampling = gen.SamplingOptions(temperature=0.8, refine_rounds=1)
    request = gen.GenerationRequest("generate", bars=2, variations=3, seed=7, sampling=sampling)
    together = final_songs(request, tiny)
    monkeypatch.setattr(gen, "BATCH", 2)
    results = list(gen.run(request, model=tiny, drafts=False))
    assert [(r.first, r.seeds, r.final) for r in results] == [(0, (7, 8), False), (2, (9,), True)]
    batched = [s for r in results for s in r.songs]
    alone = final_songs(replace(request, variations=1, seed=9), tiny)
    assert notes_of(together[2]) == notes_of(batched[2]) == notes_of(alone[0])
    assert [notes_of(s) for s in together] == [notes_of(s) for s in batched]


def test_the_engine_functions_follow_the_same_seed_rule(tiny):
    songs = final_songs(gen.GenerationRequest("generate", bars=2, variations=2, seed=3), tiny)
    direct = sample.generate(tiny, bars=2, variations=2, seed=3)
    # The service adds one thing, the key of "any key" (post-processing, by seed).
    prior = keying.key_prior(tiny.meta)
    assert prior is not None
    moved = keying.any_key_variations(direct, [3, 4], prior, gen._key_ranges(tiny)).songs
    assert [notes_of(s) for s in songs] == [notes_of(s) for s in moved]


def test_sampling_defaults_are_the_engines(tiny):
    # No rounds given: the model's own reading, the engine's two for a file that names none.
    assert gen.SamplingOptions().refine_rounds is None
    assert gen.reading(gen.SamplingOptions(), tiny).refine_rounds == VoiceDecoding().refine_rounds
    assert gen.SamplingOptions().strict_voicing == VoiceDecoding().rules


def test_a_model_file_names_its_beat_rounds_and_a_request_can_change_them(tiny):
    from studio.ml.sample import own_voicing

    beats = own_voicing({"reading": {"refine_rounds": 0, "beat_rounds": 1}})
    assert (beats.refine_rounds, beats.beat_rounds) == (0, 1)
    assert own_voicing({"reading": {"refine_rounds": 1}}).beat_rounds == 0
    assert own_voicing({"reading": {"beat_rounds": "many"}}) == VoiceDecoding()
    model = replace(tiny, voicing=beats)
    read = lambda **kw: gen.reading(gen.SamplingOptions(**kw), model)  # noqa: E731
    assert (read().refine_rounds, read().beat_rounds) == (0, 1)
    assert read(refine_rounds=0).passes_per_voice == 0  # "one pass": no rounds of any kind
    assert (read(refine_rounds=2).refine_rounds, read(refine_rounds=2).beat_rounds) == (2, 1)
    assert read(refine_rounds=0, beat_rounds=2).beat_rounds == 2
    with pytest.raises(gen.GenerationError, match="beat_rounds"):
        gen.check_sampling(gen.SamplingOptions(beat_rounds=-1))
    request = gen.GenerationRequest("generate", bars=2, variations=2, seed=1)
    stages = [(r.stage, len(r.songs)) for r in gen.run(request, model=model)]
    assert stages == [("draft", 2), ("refined", 2)]  # beat rounds alone still refine


def test_a_model_file_names_its_sixteenths_pass_and_a_request_or_the_cli_can_skip_it(tiny):
    from studio.cli import build_parser
    from studio.ml.sample import own_voicing

    named = own_voicing({"reading": {"sixteenth_temperature": 0.35}})
    assert named.sixteenth_temperature == 0.35
    assert own_voicing({"reading": {"sixteenth_temperature": "hot"}}).sixteenth_temperature is None
    assert own_voicing({"reading": {"sixteenth_temperature": 9}}).sixteenth_temperature is None
    model = replace(tiny, voicing=replace(tiny.voicing, sixteenth_temperature=0.35))
    read = lambda **kw: gen.reading(gen.SamplingOptions(**kw), model)  # noqa: E731
    assert read().sixteenth_temperature == 0.35
    assert read(sixteenths=False).sixteenth_temperature is None
    assert read(refine_rounds=0).sixteenth_temperature is None  # one pass: nothing after it
    request = gen.GenerationRequest("generate", bars=2, variations=1)
    assert [r.stage for r in gen.run(request, model=model)] == ["draft", "refined"]
    args = build_parser().parse_args(["generate", "--out", "x", "--no-sixteenths"])
    assert args.sixteenths is False
    assert build_parser().parse_args(["generate", "--out", "x"]).sixteenths is True


def test_beat_passes_drawn_at_the_models_temperature_are_seeded(tiny):
    from studio.ml.sample import own_voicing

    named = {"reading": {"refine_rounds": 1, "beat_rounds": 1, "beat_temperature": 1.0}}
    assert own_voicing(named).beat_temperature == 1.0
    assert own_voicing({"reading": {"beat_temperature": 9}}).beat_temperature is None
    with pytest.raises(ValueError, match="beat_temperature"):
        VoiceDecoding(beat_temperature=-1.0)
    drawn = replace(tiny, voicing=own_voicing(named))
    greedy = replace(tiny, voicing=replace(drawn.voicing, beat_temperature=None))
    request = gen.GenerationRequest("generate", bars=4, variations=4, seed=5)
    notes = lambda model: [notes_of(s) for s in final_songs(request, model)]  # noqa: E731
    assert notes(drawn) == notes(drawn)  # the same seed, the same music
    assert notes(drawn) != notes(greedy)  # the draws change what the greedy reading writes


# ------------------------------------------------------------------------------ stages
def test_draft_then_refined(tiny):
    request = gen.GenerationRequest("generate", bars=2, variations=2, seed=1)
    results = list(gen.run(request, model=tiny))
    assert [(r.stage, r.final) for r in results] == [("draft", False), ("refined", True)]
    assert all(r.seeds == (1, 2) and len(r.songs) == 2 for r in results)
    one_pass = replace(request, sampling=gen.SamplingOptions(refine_rounds=0))
    assert [r.stage for r in gen.run(one_pass, model=tiny)] == ["refined"]
    assert [r.stage for r in gen.run(request, model=tiny, drafts=False)] == ["refined"]
    # The draft is the one-pass music of the same seeds.
    draft = final_songs(one_pass, tiny)
    assert [notes_of(s) for s in results[0].songs] == [notes_of(s) for s in draft]


def test_progress_rises_to_one_with_a_short_text(tiny):
    seen: list[tuple[float, str]] = []
    request = gen.GenerationRequest("generate", bars=8, variations=2)
    list(gen.run(request, progress=lambda f, t: seen.append((f, t)), model=tiny))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 <= fractions[0] < 0.5
    assert all(0 < len(t) <= 40 for _, t in seen)
    assert any("Drafting" in t for _, t in seen) and any("Writing" in t for _, t in seen)


def test_cancel_stops_between_passes(tiny):
    asked: list[float] = []

    def cancel() -> bool:
        asked.append(time.perf_counter())
        return len(asked) > 3

    results = gen.run(
        gen.GenerationRequest("generate", bars=16, variations=2), cancel=cancel, model=tiny
    )
    with pytest.raises(gen.GenerationCancelled):
        list(results)
    assert len(asked) == 4  # stopped at the first check that said yes


# ------------------------------------------------------------------------------ refusals
CHORALE, TUNE = "chorale", "tune"  # placeholders for the song fields below
REFUSED = [
    ({"mode": "generate", "bars": 0}, "bars"),
    ({"mode": "generate", "bars": 100_000}, "bars"),
    ({"mode": "generate", "variations": 0}, "variations"),
    ({"mode": "generate", "seed": 2**70}, "seed"),
    ({"mode": "generate", "tempo": float("nan")}, "tempo"),
    ({"mode": "generate", "sampling": gen.SamplingOptions(temperature=float("inf"))}, "temp"),
    ({"mode": "generate", "sampling": gen.SamplingOptions(threshold=2.0)}, "threshold"),
    ({"mode": "generate", "key": "H minor"}, "cannot read the key"),
    ({"mode": "generate", "time_signature": (3, 5)}, "not a time signature"),
    ({"mode": "harmonize", "song": CHORALE, "time_signature": (3, 4)}, "follows the song's"),
    ({"mode": "remix"}, "mode"),
    ({"mode": "harmonize"}, "needs a song"),
    ({"mode": "harmonize", "song": CHORALE, "melody_track": 9}, "melody track 9 does not"),
    ({"mode": "continue", "song": TUNE, "tracks": (0, 3)}, "track 3 does not exist"),
    ({"mode": "infill", "song": CHORALE}, "region"),
    ({"mode": "infill", "song": CHORALE, "region": (10**9, 10**9 + 1)}, "after the song's end"),
    ({"mode": "infill", "song": CHORALE, "region": (0, 480), "tracks": (5,)}, "track 5"),
]


@pytest.mark.parametrize(("fields", "words"), REFUSED)
def test_requests_the_model_cannot_serve_are_refused_before_any_work(
    tiny, chorale, fields, words, monkeypatch
):
    def no_work(*args, **kwargs):
        raise AssertionError("work started")

    monkeypatch.setattr(sample, "run_windows", no_work)
    songs = {CHORALE: chorale, TUNE: one_voice(chorale, "Soprano", "Tune")}
    fields = {k: songs.get(v, v) if k == "song" else v for k, v in fields.items()}
    with pytest.raises(gen.GenerationError, match=words):
        gen.run(gen.GenerationRequest(**fields), model=tiny)


def test_a_track_the_model_does_not_have_is_named(tiny, chorale):
    wide = chorale.copy()
    wide.tracks.append(chorale.tracks[0].copy())
    wide.tracks[4].name = "Descant"
    request = gen.GenerationRequest("infill", song=wide, region=(0, 960), tracks=(4,))
    with pytest.raises(gen.GenerationError, match=r"track 4 \(Descant\).*only 4 tracks"):
        gen.validate(request, tiny)


def test_a_job_that_cannot_fit_in_memory_is_refused_with_advice(tiny, monkeypatch):
    request = gen.GenerationRequest("generate", bars=512, variations=100)
    per_variation = gen.estimate_memory(request, tiny, 1)
    monkeypatch.setattr(gen, "available_memory", lambda: per_variation)  # half is the budget
    with pytest.raises(gen.GenerationError, match="fewer bars"):
        gen.validate(request, tiny)
    monkeypatch.setattr(gen, "available_memory", lambda: 6 * per_variation)
    assert gen.batch_size(request, tiny) == 3  # smaller batches instead of a refusal


# ------------------------------------------------------------------------------ harmonize
def test_harmonize_puts_a_soprano_tune_on_top(tiny, chorale):
    tune = one_voice(chorale, "Soprano", "Melody")
    request = gen.GenerationRequest("harmonize", song=tune, melody_track=0, variations=2)
    results = list(gen.run(request, model=tiny))
    assert {r.melody_voice for r in results} == {0}
    songs = results[-1].songs
    for song in songs:
        assert [t.name for t in song.tracks] == ["Melody", "Alto", "Tenor", "Bass"]
        assert song.tracks[0].notes.same_notes(tune.tracks[0].notes)


def test_harmonize_puts_a_bass_line_at_the_bottom_with_voices_above(bundled, chorale):
    line = one_voice(chorale, "Bass", "Bass line")
    assert gen.melody_voice(bundled, line, 0) == 3
    (result,) = gen.run(
        gen.GenerationRequest("harmonize", song=line, melody_track=0), model=bundled, drafts=False
    )
    assert result.melody_voice == 3
    (song,) = result.songs
    names = [t.name for t in song.tracks]
    assert names == ["Soprano", "Alto", "Tenor", "Bass line"]
    assert song.tracks[3].notes.same_notes(line.tracks[0].notes)
    bass = np.median(line.tracks[0].notes.pitch)
    for track in song.tracks[:3]:
        assert len(track.notes) and np.median(track.notes.pitch) > bass


def test_harmonized_tracks_keep_distinct_names(tiny, chorale):
    """A tune called "Bass" that lies in the soprano range becomes the Soprano."""
    tune = one_voice(chorale, "Soprano", "Bass")
    (song,) = final_songs(gen.GenerationRequest("harmonize", song=tune, melody_track=0), tiny)
    assert [t.name for t in song.tracks] == VOICES
    assert song.tracks[0].notes.same_notes(tune.tracks[0].notes)


# ------------------------------------------------------------------------------ other modes
def test_continue_and_infill_through_the_service(tiny, chorale):
    tune = one_voice(chorale, "Soprano", "Soprano", bars=2)
    (cont,) = final_songs(gen.GenerationRequest("continue", song=tune, bars=2), tiny)
    given = cont.tracks[0].notes
    kept = given.take(np.nonzero(given.start < tune.end_tick)[0])
    assert kept.same_notes(tune.tracks[0].notes) and cont.end_tick > tune.end_tick
    bar = chorale.ticks_per_bar(0)
    request = gen.GenerationRequest("infill", song=chorale, region=(bar, 2 * bar), tracks=(1, 2))
    (filled,) = final_songs(request, tiny)
    assert filled.tracks[0].notes == chorale.tracks[0].notes
    assert filled.tracks[3].notes == chorale.tracks[3].notes
    direct = sample.infill(tiny, chorale, bar, 2 * bar, tracks=[1, 2], seed=0)
    assert notes_of(filled) == notes_of(direct[0])


def test_interpolation_ends_on_each_seeds_music(tiny):
    request = gen.GenerationRequest("generate", bars=2, seed=4)
    result = gen.interpolate(request, seed_b=6, steps=3, model=tiny)
    assert result.final and len(result.songs) == 3
    a = final_songs(request, tiny)[0]
    b = final_songs(replace(request, seed=6), tiny)[0]
    assert notes_of(result.songs[0]) == notes_of(a)
    assert notes_of(result.songs[-1]) == notes_of(b)


def test_load_model_is_cached(tiny_run):
    assert gen.load_model(tiny_run) is gen.load_model(tiny_run)
