#!/usr/bin/env bash
# Stop 32 (models/bach-default.md, "Stop 32"): which half of stop 31's lead moves the
# network's own 3/4 rhythm, the bar's length as an input (--metre-planes) or the 3/4
# windows drawn three times (--oversample-metres 3)? Four fine-tunes of the shipped stage 1
# (models/bach-default.pt, which never saw 3/4) on every metre, side by side, one thread each,
# the same seed and recipe as stop 31's (wgan-gp, recon 3, lr-g 1e-4, batch 32):
#
#   bash models/training/stop32/metre_factorial.sh [OUT_DIR] [STEPS]   # ~38 min for 250 steps
#   bash models/training/stop32/metre_factorial.sh [OUT_DIR] 500       # continues to 500
#   ARMS="control both" bash models/training/stop32/metre_factorial.sh OUT_DIR 500   # some arms
#
# then, per checkpoint step S (250, 500):
#   .venv/bin/python scripts/metre_check.py --alone --metre 3/4 --model models/bach-default.pt \
#     OUT_DIR/{control,planes,x3,both}/checkpoints/step_0000S.pt       # and --metre 4/4
#   .venv/bin/python models/training/stop31/metre_nll_hidden.py <the same models>
set -euo pipefail
out=${1:-runs/metre-factorial}
steps=${2:-250}
seed=${SEED:-0}
py=${PYTHON:-.venv/bin/python}
common=(--data bach-chorales --preset default --device cpu --loss wgan-gp --recon-weight 3
  --metrics-every 0 --log-every 25 --batch-size 32 --lr-g 1e-4 --seed "$seed"
  --init-from models/bach-default.pt --checkpoint-every 250 --keep-last 4 --threads 1 --resume)
mkdir -p "$out"
arm() {
  local name=$1
  shift
  nice -n 19 "$py" -m studio train "${common[@]}" --steps "$steps" --out "$out/$name" "$@" \
    >>"$out/$name.log" 2>&1 &
}
declare -A flags=(
  [control]=""
  [planes]="--metre-planes"
  [x3]="--oversample-metres 3"
  [both]="--metre-planes --oversample-metres 3"
)
for name in ${ARMS:-control planes x3 both}; do
  [ -n "${flags[$name]+set}" ] || { echo "unknown arm: $name" >&2; exit 2; }
  # shellcheck disable=SC2086  # the flags are words
  arm "$name" ${flags[$name]}
done
wait
