#!/usr/bin/env bash
# Stop 33: the note-length loss (`pianola train --length-weight`) on the default model's
# own recipe. Three arms side by side, one thread each: the LINES stage of
# scripts/train_bundled_model.sh (bach-small distilled from bach-default, a quarter of the
# windows interleaved by beats, a fifth hiding the sixteenth steps) with --length-weight
# 0 (control), 1 and 10, then each exported as bach-lines.pt is. THRESHOLD=0.5 reads the
# onsets as the voice reading does (`--length-threshold`; arm folders end in "t").
#
#   bash models/training/stop33/length_loss.sh [OUT] [WEIGHTS...]   # default: runs/stop33 0 1 10
#   THRESHOLD=0.5 bash models/training/stop33/length_loss.sh runs/stop33 10
#
# Stop 33 compared the arms at step 2000 (before the rate decays, so every arm's step 2000
# is the same recipe's), exported from checkpoints/step_0002000.pt with the flags below.
# Measure with scripts/metre_check.py --alone (the network) and scripts/rhythm_tells.py /
# scripts/reading_ablation.py (the read music); the model card's *Stop 33* has the numbers.
set -euo pipefail
out=${1:-runs/stop33}
shift || true
weights=("$@")
[ ${#weights[@]} -gt 0 ] || weights=(0 1 10)
py=${PYTHON:-.venv/bin/python}
threshold=${THRESHOLD:-0}
suffix=$([ "$threshold" = 0 ] && echo "" || echo t)
for w in "${weights[@]}"; do
  arm="len$w$suffix"
  (
    nice -n 19 "$py" -m studio train --data bach-chorales --preset small --device cpu \
      --init-from bach-small --distill-from bach-default --adv-weight 0 --fm-weight 0 \
      --lr-decay linear --metrics-every 0 --log-every 50 --resume --threads 1 \
      --out "$out/$arm" --steps 5000 --lr-g 3e-4 --lr-decay-start 2500 \
      --interleave-share 0.25 --offgrid-share 0.2 --checkpoint-every 500 --keep-last 10 \
      --length-weight "$w" --length-threshold "$threshold" > "$out/$arm.log" 2>&1
    "$py" scripts/export_generator.py "$out/$arm" "$out/lines-$arm.pt" --refine-rounds 1 \
      --beat-rounds 1 --beat-temperature 0.7 --drawn-beat-moves --no-offbeat-repeats \
      --sixteenth-temperature 0.5 >> "$out/$arm.log" 2>&1
  ) &
done
wait
