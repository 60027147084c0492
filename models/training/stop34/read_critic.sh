#!/usr/bin/env bash
# Stop 34: a critic of the read music (`pianola train --read-critic-weight`) on the
# default model. Each arm starts from the shipped bach-lines.pt with its LINES recipe's
# losses kept (distilled from bach-default, a quarter of the windows interleaved by beats,
# a fifth hiding the sixteenth steps) at a constant lr 1e-4, side by side, and is then
# exported as bach-lines.pt is. An arm is NAME:WEIGHT:SIGNAL:THREADS.
#
#   bash models/training/stop34/read_critic.sh [OUT] [STEPS] [ARM...]
#   # default: runs/stop34 1000 control:0:above:1 critic10:10:above:2
#   # stop 34's second pair: ... signed10:10:signed:1 even10:10:even:1
#
# Measure with models/training/stop33/measure.sh OUT name=path ... (the model card's
# *Stop 34* has the numbers).
set -euo pipefail
out=${1:-runs/stop34}
steps=${2:-1000}
shift 2 || true
arms=("$@")
[ ${#arms[@]} -gt 0 ] || arms=(control:0:above:1 critic10:10:above:2)
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out"
arm() {  # name weight signal threads
  nice -n 19 "$py" -m studio train --data bach-chorales --preset small --device cpu \
    --init-from bach-lines --distill-from bach-default --adv-weight 0 --fm-weight 0 \
    --metrics-every 0 --log-every 25 --resume --threads "$4" --out "$out/$1" \
    --steps "$steps" --lr-g 1e-4 --interleave-share 0.25 --offgrid-share 0.2 \
    --checkpoint-every 250 --keep-last 10 --read-critic-weight "$2" \
    --read-critic-signal "$3" --minutes 70 > "$out/$1.log" 2>&1
  "$py" scripts/export_generator.py "$out/$1" "$out/lines-$1.pt" --refine-rounds 1 \
    --beat-rounds 1 --beat-temperature 0.7 --drawn-beat-moves --no-offbeat-repeats \
    --sixteenth-temperature 0.5 >> "$out/$1.log" 2>&1
}
for spec in "${arms[@]}"; do
  IFS=: read -r name weight signal threads <<< "$spec"
  arm "$name" "$weight" "$signal" "$threads" &
done
wait
