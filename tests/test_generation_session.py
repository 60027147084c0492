"""The Generation panel's session, without Qt widgets or a model.

Requests are built from settings and the song's editing context; results (made here by
hand, as `generation.run` yields them) are placed into the open song's ticks; a refined
batch replaces its draft; Cancel makes the session idle at once and ignores what the
cancelled job still delivers; Insert and Replace say exactly where each voice goes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from captions import without_keys

from studio.core.song import (
    TRACK_PALETTE,
    KeySignature,
    Notes,
    Song,
    TempoChange,
    TimeSignature,
    Track,
)
from studio.ml.generation import GenerationError, GenerationResult
from studio.ui.panels.generation_session import (
    CONTINUE,
    GENERATE,
    HARMONIZE,
    INFILL,
    EditingContext,
    GenerationSession,
    GenerationSettings,
    describe_context,
    distinct_colours,
    key_label,
    model_description,
    notes_text,
    song_key,
)

SATB = ("Soprano", "Alto", "Tenor", "Bass")


def sketch(bpm: float = 96.0) -> Song:
    """Soprano and Bass, 480 ticks per beat, 4/4: two bars."""
    melody = Notes([67, 69, 71, 72, 74, 72, 71, 69], [k * 480 for k in range(8)], [480] * 8)
    bass = Notes([43, 45, 47, 48], [0, 960, 1920, 2880], [960] * 4)
    return Song(
        "Sketch",
        tempos=[TempoChange(0, bpm)],
        tracks=[
            Track("Soprano", program=0, colour=TRACK_PALETTE[0], notes=melody),
            Track("Bass", program=32, colour=TRACK_PALETTE[1], notes=bass),
        ],
    )


def generated(tpb: int = 96, bars: int = 2, pitch0: int = 72, melody: Notes | None = None) -> Song:
    """A four-voice song as the engine returns it (its own resolution)."""
    tracks = []
    for k, name in enumerate(SATB):
        notes = Notes(
            [pitch0 - 7 * k] * (4 * bars), [j * tpb for j in range(4 * bars)], [tpb] * (4 * bars)
        )
        if melody is not None and k == 0:
            notes = melody
        tracks.append(Track(name, program=0, colour=TRACK_PALETTE[k], notes=notes))
    return Song("Generated", ticks_per_beat=tpb, tracks=tracks)


def result(songs, seeds, stage="refined", final=True, first=0) -> GenerationResult:
    return GenerationResult(stage, final, tuple(songs), tuple(seeds), first)


def test_new_music_starts_at_the_playhead_bar_with_the_song_tempo():
    session = GenerationSession(GenerationSettings(bars=2, variations=3, seed=7))
    context = EditingContext(sketch(bpm=84), playhead=1920 + 100)
    job = session.begin_generate(context)
    request = job.planned.request
    assert (request.mode, request.bars, request.variations, request.seed) == (GENERATE, 2, 3, 7)
    assert request.tempo == 84  # the song's tempo, not the model's
    # None: the model's own reading (2 rounds for the default model, 1 for bach-small)
    assert request.sampling.refine_rounds is None and request.sampling.strict_voicing
    assert (job.planned.placement.start, job.planned.placement.end) == (1920, 1920 + 2 * 1920)
    assert session.settings.seed == 10  # the next Generate makes new music
    assert session.busy

    assert session.accept(job, result([generated(), generated(pitch0=74)], [7, 8], "draft", False))
    assert [v.caption for v in session.variations] == [
        f"Seed 7 · {key_label(song_key(generated()))} · draft",
        f"Seed 8 · {key_label(song_key(generated(pitch0=74)))} · draft",
    ]  # new music says which key it came out in
    session.select([1])
    assert session.accept(job, result([generated(), generated(pitch0=76)], [7, 8]))
    assert without_keys(v.caption for v in session.variations) == ["Seed 7", "Seed 8"]
    assert session.selection == [1]  # the variation being looked at stays selected
    soprano = session.variations[1].parts[0].notes
    # 96 ticks per beat in the engine, 480 in the song; moved to the playhead's bar.
    assert soprano.start.tolist()[:2] == [1920, 2400] and soprano.duration[0] == 480
    assert soprano.pitch[0] == 76
    session.finish(job)
    assert not session.busy


def test_a_locked_seed_and_a_chosen_tempo_are_kept():
    session = GenerationSession(GenerationSettings(seed=5, seed_locked=True, tempo=140.0))
    job = session.begin_generate(EditingContext(sketch()))
    assert job.planned.request.tempo == 140 and session.settings.seed == 5


def test_cancel_is_immediate_and_the_cancelled_job_is_ignored():
    session = GenerationSession(GenerationSettings(variations=1))
    job = session.begin_generate(EditingContext(sketch()))
    assert session.cancel() and not session.busy
    assert job.cancelled()  # what the engine checks between two network passes
    assert not session.accept(job, result([generated()], [0]))
    assert not session.report_progress(job, 0.5, "refining")
    assert session.variations == []
    again = session.begin_generate(EditingContext(sketch()))  # a new job may start at once
    session.finish(job)  # the old thread ending later does not end the new job
    assert session.busy and session.is_current(again)


def test_each_mode_refuses_a_context_with_nothing_to_work_on():
    empty = Song("Empty", tracks=[Track("Piano")])
    cases = [
        (CONTINUE, EditingContext(empty), "Nothing to continue"),
        (HARMONIZE, EditingContext(empty), "Nothing to harmonize"),
        (INFILL, EditingContext(sketch(), ticked=(0, 1)), "Nothing to regenerate"),
        (INFILL, EditingContext(sketch(), loop=(0, 1920)), "Tick the tracks"),
    ]
    for mode, context, words in cases:
        session = GenerationSession(GenerationSettings(mode=mode))
        with pytest.raises(GenerationError, match=words):
            session.begin_generate(context)
        assert not session.busy


def test_continue_sends_the_bars_before_and_places_the_new_bars_after_them():
    session = GenerationSession(GenerationSettings(mode=CONTINUE, bars=1, variations=1))
    song = sketch()
    job = session.begin_generate(EditingContext(song, loop=(0, 1920), ticked=(0,)))
    request, placement = job.planned.request, job.planned.placement
    assert request.song.end_tick <= 1920 and request.tracks == (0,)
    assert (placement.start, placement.end) == (1920, 3840)
    # The engine answers: the primer (1 bar) then 1 new bar, at 480 ticks per beat.
    out = generated(tpb=480, bars=2)
    session.accept(job, result([out], [0]))
    starts = session.variations[0].parts[0].notes.start
    assert starts.min() >= 1920 and starts.max() < 3840
    assert session.variations[0].seed is None  # only New variations can be morphed
    assert session.variations[0].caption == "Continues the loop · 1"


def test_harmonize_keeps_the_melody_out_of_the_new_parts():
    song = sketch()
    session = GenerationSession(GenerationSettings(mode=HARMONIZE, variations=1))
    job = session.begin_generate(EditingContext(song, active_track=0, ticked=(0, 1)))
    assert job.planned.request.melody_track == 0
    assert "Keeps “Soprano”" in describe_context(HARMONIZE, EditingContext(song))
    # The engine put the melody on its top voice; the other three are new.
    session.accept(job, result([generated(tpb=480, melody=song.tracks[0].notes)], [0]))
    variation = session.variations[0]
    assert [p.name for p in variation.parts] == ["Alto", "Tenor", "Bass"]
    plan = session.replace_plan(song, [0, 1])
    # The melody's track is never written; Bass goes to Bass, the others become tracks.
    assert [r.track for r in plan.replacements] == [1]
    assert [t.name for t in plan.new_tracks] == ["Alto · new", "Tenor · new"]
    assert not plan.exact
    assert "Bass → Bass" in plan.lines and "Alto → new track “Alto · new”" in plan.lines
    # When the engine says which voice holds the melody, that voice is left out.
    said = GenerationResult("refined", True, (generated(tpb=480),), (0,), 0, melody_voice=1)
    assert session.accept(job, said)
    assert [p.name for p in session.variations[0].parts] == ["Soprano", "Tenor", "Bass"]


def test_regenerate_rewrites_the_loop_of_the_ticked_tracks_only():
    song = sketch()
    session = GenerationSession(GenerationSettings(mode=INFILL, variations=1))
    job = session.begin_generate(EditingContext(song, loop=(1920, 3840), ticked=(1,)))
    assert job.planned.request.region == (1920, 3840) and job.planned.request.tracks == (1,)
    out = song.copy()
    out.tracks[1].notes = Notes([40, 50], [0, 1920], [960, 3000])
    session.accept(job, result([out], [0]))
    (part,) = session.variations[0].parts
    assert part.target == 1 and part.notes.pitch.tolist() == [50]
    assert part.notes.duration.tolist() == [1920]  # cut at the loop's end
    plan = session.replace_plan(song, [0, 1])
    assert plan.exact and [(r.track, r.start, r.end) for r in plan.replacements] == [
        (1, 1920, 3840)
    ]


def test_replace_into_tracks_that_do_not_match_says_where_every_voice_goes():
    song = sketch()
    session = GenerationSession(GenerationSettings(variations=1))
    job = session.begin_generate(EditingContext(song))
    session.accept(job, result([generated()], [0]))
    # Only Soprano ticked: it takes the Soprano; three voices would have been dropped.
    plan = session.replace_plan(song, [0])
    assert [r.track for r in plan.replacements] == [0]
    assert [t.name for t in plan.new_tracks] == ["Alto · new", "Tenor · new", "Bass · new"]
    assert not plan.exact
    # Both ticked: Bass by name, the rest become new tracks; never into a wrong voice
    # silently: a track of another name is said to be "a different voice".
    renamed = song.copy()
    renamed.tracks[1].name = "Left hand"
    plan = session.replace_plan(renamed, [0, 1])
    assert "Alto → Left hand (a different voice)" in plan.lines
    assert len(plan.replacements) + len(plan.new_tracks) == 4
    satb = Song("SATB", tracks=[Track(n) for n in SATB])
    plan = session.replace_plan(satb, [0, 1, 2, 3])
    assert plan.exact and not plan.new_tracks and len(plan.replacements) == 4


def test_inserted_tracks_get_colours_the_song_does_not_use():
    song = Song("Four", tracks=[Track(n, colour=TRACK_PALETTE[k]) for k, n in enumerate(SATB)])
    session = GenerationSession(GenerationSettings(variations=1))
    job = session.begin_generate(EditingContext(song))
    session.accept(job, result([generated()], [0]))
    tracks = session.insert_tracks(song)
    colours = [t.colour for t in tracks]
    assert [t.name for t in tracks] == [f"{n} · new" for n in SATB]
    assert len(set(colours)) == 4 and not set(colours) & {t.colour for t in song.tracks}
    many = distinct_colours(list(TRACK_PALETTE), 20)
    assert len(set(many)) == 20 and not set(many) & set(TRACK_PALETTE)


def test_morph_uses_the_two_selected_seeds():
    settings = GenerationSettings(variations=2, seed=100, seed_locked=True, key="any")
    session = GenerationSession(settings)  # in a chosen key, variations are not morphable
    job = session.begin_generate(EditingContext(sketch()))
    session.accept(job, result([generated(), generated()], [100, 101]))
    session.finish(job)
    session.select([0])
    assert session.morph_seeds() is None
    session.select([0, 1])
    assert session.morph_seeds() == (100, 101)
    morph = session.begin_morph(4)
    assert morph.planned.request.seed == 100
    session.accept(morph, result([generated()] * 4, []))  # a morph has no seeds
    assert [v.caption for v in session.variations][:2] == ["100 → 101: 1/4", "100 → 101: 2/4"]


def test_settings_round_trip_and_bad_stored_values_keep_their_defaults():
    settings = GenerationSettings(bars=12, variations=3, temperature=0.4, seed=9)
    settings.strict_voicing = False
    again = GenerationSettings.from_dict(settings.to_dict())
    assert (again.bars, again.variations, again.temperature, again.seed) == (12, 3, 0.4, 9)
    assert again.strict_voicing is False
    # What an ini file gives back: strings; and values out of range or unreadable.
    stored = {"bars": "6", "variations": "999", "temperature": "hot", "voice_rules": "true"}
    loaded = GenerationSettings.from_dict(stored)
    assert (loaded.bars, loaded.variations, loaded.temperature) == (6, 16, 0.0)
    assert loaded.strict_voicing is True


def test_refine_setting_keeps_the_models_own_reading_apart_from_a_chosen_count():
    assert GenerationSettings().refine_rounds is None  # the model's own reading
    for chosen in (None, 0, 3):
        stored = GenerationSettings(refine_rounds=chosen).to_dict()
        assert GenerationSettings.from_dict(stored).refine_rounds == chosen
    # What an ini file gives back, and the old key, which every version wrote (2 unless
    # changed): it does not stand for a choice, so the model's own reading applies.
    assert GenerationSettings.from_dict({"refine": "4"}).refine_rounds == 4
    assert GenerationSettings.from_dict({"refine": "-1"}).refine_rounds is None
    # The beat rounds the same way: -1 (or nothing stored) is the model's own.
    assert GenerationSettings().beat_rounds is None
    assert (
        GenerationSettings.from_dict(GenerationSettings(beat_rounds=1).to_dict()).beat_rounds == 1
    )
    assert GenerationSettings.from_dict({"beat_rounds": -1}).beat_rounds is None
    assert GenerationSettings(beat_rounds=0).sampling().beat_rounds == 0


def test_the_sixteenths_setting_round_trips_and_reaches_the_request():
    assert GenerationSettings().sixteenths is True  # the model's own pass, where it has one
    off = GenerationSettings(sixteenths=False)
    assert off.sampling().sixteenths is False
    assert GenerationSettings.from_dict(off.to_dict()).sixteenths is False
    assert GenerationSettings.from_dict({"sixteenths": "false"}).sixteenths is False
    assert GenerationSettings.from_dict({"sixteenths": "true"}).sixteenths is True
    assert GenerationSettings.from_dict({"refine": "many"}).refine_rounds is None
    assert GenerationSettings.from_dict({"refine_rounds": 2}).refine_rounds is None


def test_model_description_reads_the_runs_last_quality(tmp_path: Path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    checkpoint = run / "checkpoints" / "step_3.pt"
    lines = [
        {"type": "step", "step": 1},
        {"type": "metrics", "step": 3, "empty_bar_rate": 0.25, "polyphony": 3.5},
    ]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines))

    from types import SimpleNamespace

    model = SimpleNamespace(
        meta={"step": 3, "data": {"summary": {"source": "bach-chorales", "files_used": 3}}},
        templates=[{"name": n} for n in SATB],
        path=str(checkpoint),
    )
    text = model_description(model, metric_label=lambda k: k.upper())
    assert "Bach chorales" in text and "3 training steps" in text
    assert "quality at step 3: EMPTY_BAR_RATE 0.25, POLYPHONY 3.5" in text
    assert "phrase ends" not in text and "fine-tuned" not in text

    model.phrase_conditioned = True  # a fine-tune that learnt Bach's fermatas
    model.meta["train_config"] = {"init_from": "default"}
    text = model_description(model)
    assert "Bach chorales</b> (3 files, ? phrases) and their phrase ends" in text
    assert "3 training steps, fine-tuned from default" in text

    model.meta["train_config"] = {"distill_from": "default", "preset": "small"}
    text = model_description(model)
    assert "3 training steps, taught by default (distilled) · model size small" in text
    assert "one pass" not in text

    model.meta["train_config"]["distill_refined"] = "beliefs"
    assert "(distilled), learnt its teacher's refined music" in model_description(model)


# -- key and metre (issue 12) -------------------------------------------------------------
def g_minor(time_signature: tuple[int, int] = (4, 4)) -> Song:
    """A phrase in G minor (B flat, E flat, F sharp), in the given metre."""
    melody = Notes([67, 70, 74, 72, 70, 69, 67, 66, 67], [k * 480 for k in range(9)], [480] * 9)
    bass = Notes([43, 50, 51, 50, 43], [k * 960 for k in range(5)], [960] * 5)
    return Song(
        "In G minor",
        time_signatures=[TimeSignature(0, *time_signature)],
        tracks=[
            Track("Soprano", colour=TRACK_PALETTE[0], notes=melody),
            Track("Bass", program=32, colour=TRACK_PALETTE[1], notes=bass),
        ],
    )


def test_new_writes_in_the_songs_estimated_key_unless_another_is_chosen():
    session = GenerationSession(GenerationSettings(variations=2))
    assert session.settings.key == "song"  # the default
    request = session.begin_generate(EditingContext(g_minor())).planned.request
    assert request.key == "G minor"
    session.cancel()

    session.settings.key = "D major"
    assert session.begin_generate(EditingContext(g_minor())).planned.request.key == "D major"
    session.cancel()
    session.settings.key = "any"
    assert session.begin_generate(EditingContext(g_minor())).planned.request.key is None
    session.cancel()

    # An empty song has no key: "the song's key" is any key.
    session.settings.key = "song"
    assert song_key(Song("Empty")) is None
    assert session.begin_generate(EditingContext(Song("Empty"))).planned.request.key is None


def test_a_key_signature_names_the_songs_key_before_the_estimate():
    song = g_minor()
    song.key_signatures = [KeySignature(0, sharps=-3, minor=False)]  # E flat major
    assert song_key(song).name == "Eb major" and key_label(song_key(song)) == "E♭ major"
    song.key_signatures = [KeySignature(0, sharps=-2, minor=True)]
    assert song_key(song).name == "G minor"


@pytest.mark.parametrize("mode", [CONTINUE, HARMONIZE, INFILL])
def test_continue_harmonize_and_regenerate_keep_the_given_musics_key(mode: str):
    session = GenerationSession(GenerationSettings(mode=mode, key="D major"))
    context = EditingContext(g_minor(), loop=(0, 1920), ticked=(0, 1))
    request = session.begin_generate(context).planned.request
    assert request.key is None  # the engine keeps the given music's key (G minor)


def test_new_follows_the_songs_time_signature_at_the_playhead():
    song = g_minor((3, 4))
    song.time_signatures.append(TimeSignature(1440 * 4, 6, 8))  # 6/8 from bar 5
    session = GenerationSession(GenerationSettings(bars=2, key="any"))
    job = session.begin_generate(EditingContext(song, playhead=100))
    assert job.planned.request.time_signature == (3, 4)
    assert (job.planned.placement.start, job.planned.placement.end) == (0, 2 * 1440)
    session.cancel()
    job = session.begin_generate(EditingContext(song, playhead=1440 * 4 + 10))
    assert job.planned.request.time_signature == (6, 8)


def test_keyed_variations_carry_the_engines_notes_and_cannot_be_morphed():
    session = GenerationSession(GenerationSettings(variations=2, seed=3, key="D major"))
    job = session.begin_generate(EditingContext(g_minor()))
    note = "key D major by post-processing: this model has no key input"
    done = GenerationResult("refined", True, (generated(), generated()), (3, 4), notes=(note,))
    assert session.accept(job, done)
    assert session.notes == (note,)
    assert notes_text(session.notes) == (
        "Key D major by post-processing: this model has no key input."
    )
    assert without_keys(v.caption for v in session.variations) == ["Seed 3", "Seed 4"]
    session.select([0, 1])
    assert session.morph_needs_any_key and session.morph_seeds() is None


def test_the_key_choice_is_remembered_and_a_bad_stored_one_falls_back():
    stored = GenerationSettings(key="F# minor").to_dict()
    assert GenerationSettings.from_dict(stored).key == "F# minor"
    assert GenerationSettings.from_dict({"key": "any"}).key == "any"
    assert GenerationSettings.from_dict({"key": "H moll"}).key == "song"
