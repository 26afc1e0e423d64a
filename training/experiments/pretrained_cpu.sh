#!/usr/bin/env bash
# The papers' table from pretrained weights on a 2-core CPU, in one resumable call:
#   bash training/experiments/pretrained_cpu.sh            # one seed
#   SEEDS="1" bash training/experiments/pretrained_cpu.sh  # and the students again with seed 1
#   SEED=1 OUT=runs/pretrained_cpu_s1 bash training/experiments/pretrained_cpu.sh
#                                      # every model, the teacher too, with seed 1
# Runs training/recipes/pretrained_cpu.yaml into $OUT (default runs/pretrained_cpu; rerun the
# same command to continue an interrupted run, finished stages are skipped). Each seed in
# $SEEDS trains the direct, KD and pruned students again into ${OUT}_seedN, distilled from
# $OUT's teacher. Then writes the table with the three questions answered to $DOC (default
# docs/results/<today>-pretrained-cpu.md) and its plot beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export YOLO_OFFLINE=1 MPLBACKEND=Agg
RECIPE=training/recipes/pretrained_cpu.yaml
OUT=${OUT:-runs/pretrained_cpu}
DOC=${DOC:-docs/results/$(date +%F)-pretrained-cpu.md}
vru-train pipeline "$RECIPE" --out "$OUT" ${SEED:+--seed "$SEED"}
runs=("$OUT")
for seed in ${SEEDS:-}; do
  vru-train pipeline "$RECIPE" --out "${OUT}_seed$seed" --seed "$seed" \
    --teacher "$OUT/teacher/teacher.pt" \
    --stages student distill prune export calibrate evaluate
  runs+=("${OUT}_seed$seed")
done
command="bash training/experiments/pretrained_cpu.sh"
[ -n "${SEEDS:-}" ] && command="SEEDS=\"$SEEDS\" $command"
[ -n "${SEED:-}" ] && command="SEED=$SEED OUT=$OUT $command"
python -m training.experiments.pretrained_table "${runs[@]}" --doc "$DOC" --command "$command"
