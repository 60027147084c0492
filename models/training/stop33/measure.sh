#!/usr/bin/env bash
# Stop 33's measurements of generators (the model card's *Stop 33*), one folder of text:
#
#   bash models/training/stop33/measure.sh OUT control=runs/stop33/mid-len0.pt len10=...
#
# Per model: scripts/rhythm_tells.py at sampling seeds 0 and 1 (the read music: holds, note
# lengths per voice, feature C2ST by family) and for the network alone (one pass, no rules,
# no refinement, no sixteenths pass); then scripts/metre_check.py --metre 4/4 --alone at
# seeds 0 and 1 (feature C2ST, where notes start, notes of 2 beats or more) and
# length_probe.py (the note-length loss's own number).
set -u
out=$1
shift
mkdir -p "$out"
py=${PYTHON:-.venv/bin/python}
here=$(dirname "$0")
paths=()
for pair in "$@"; do
  name=${pair%%=*}
  path=${pair#*=}
  paths+=("$path")
  "$py" scripts/rhythm_tells.py --model "$path" > "$out/rt-$name.txt" 2>&1
  "$py" scripts/rhythm_tells.py --model "$path" --seed 1 > "$out/rt1-$name.txt" 2>&1
  "$py" scripts/rhythm_tells.py --model "$path" --set refine_rounds=0 beat_rounds=0 \
    rules=false sixteenth_temperature=none > "$out/rta-$name.txt" 2>&1
done
"$py" scripts/metre_check.py --model "${paths[@]}" --metre 4/4 --alone > "$out/mc44.txt" 2>&1
"$py" scripts/metre_check.py --model "${paths[@]}" --metre 4/4 --alone --seed 1 \
  > "$out/mc44-s1.txt" 2>&1
"$py" "$here/length_probe.py" "${paths[@]}" > "$out/probe.txt" 2>&1
