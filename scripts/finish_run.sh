#!/usr/bin/env bash
# After a training run: ship its EMA weights, measure them, rewrite the model card.
#   bash scripts/finish_run.sh RUN_DIR [WEIGHTS_DIR]
# Settings come from the tuning set (the sweep); the gate set only reports. The card also needs
# two texts a person writes: WEIGHTS_DIR/evaluation/history.md (how the weights were trained)
# and oov_reading.md (what can be named in oov_grid.png, which this script regenerates).
set -euo pipefail
RUN=${1:?usage: finish_run.sh RUN_DIR [WEIGHTS_DIR]}
OUT=${2:-weights/dit-emoji}
EV=$OUT/evaluation
mkdir -p "$EV"
python -m training.train --export-only --run-dir "$RUN" --output "$OUT"
python scripts/sweep.py "$OUT" | tee "$EV/sweep.jsonl"
python -m training.evaluate "$OUT" --json "$EV/gate.json" --write-grids
# the curve, like every choice, on the tuning set
if compgen -G "$RUN/snap-*" > /dev/null; then python scripts/curve.py "$RUN"/snap-* --set tune | tee "$EV/curve.jsonl"; fi
python -m training.model_card "$OUT" --metrics "$EV/gate.json" --run-dir "$RUN" --curve "$EV/curve.jsonl" \
    --sweep "$EV/sweep.jsonl" --history "$EV/history.md" --oov-reading "$EV/oov_reading.md"
