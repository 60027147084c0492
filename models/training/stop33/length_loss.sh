#!/usr/bin/env bash
# Stop 33: the note-length loss (`pianola train --length-weight`) on the default model's
# own recipe. Three arms side by side, one thread each: the LINES stage of
# scripts/train_bundled_model.sh (bach-small distilled from bach-default, a quarter of the
# windows interleaved by beats, a fifth hiding the sixteenth steps) with --length-weight
# 0 (control), 1 and 10, then each exported as bach-lines.pt is.
#
#   bash models/training/stop33/length_loss.sh [OUT] [WEIGHTS...]   # default: runs/stop33 0 1 10
#
# Measure with scripts/metre_check.py --alone (the network) and scripts/rhythm_tells.py /
# scripts/reading_ablation.py (the read music); the model card's *Stop 33* has the numbers.
set -euo pipefail
out=${1:-runs/stop33}
shift || true
weights=("$@")
[ ${#weights[@]} -gt 0 ] || weights=(0 1 10)
py=${PYTHON:-.venv/bin/python}
for w in "${weights[@]}"; do
  (
    nice -n 19 "$py" -m studio train --data bach-chorales --preset small --device cpu \
      --init-from bach-small --distill-from bach-default --adv-weight 0 --fm-weight 0 \
      --lr-decay linear --metrics-every 0 --log-every 50 --resume --threads 1 \
      --out "$out/len$w" --steps 5000 --lr-g 3e-4 --lr-decay-start 2500 \
      --interleave-share 0.25 --offgrid-share 0.2 --checkpoint-every 500 --keep-last 10 \
      --length-weight "$w" > "$out/len$w.log" 2>&1
    "$py" scripts/export_generator.py "$out/len$w" "$out/lines-len$w.pt" --refine-rounds 1 \
      --beat-rounds 1 --beat-temperature 0.7 --drawn-beat-moves --no-offbeat-repeats \
      --sixteenth-temperature 0.5 >> "$out/len$w.log" 2>&1
  ) &
done
wait
