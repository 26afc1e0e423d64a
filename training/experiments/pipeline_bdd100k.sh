#!/usr/bin/env bash
# The paper's table on real data in one call (issue: one-command pipeline): bdd100k.yaml with
# the epochs scaled to the GPU time at hand, into $OUT (results + report), weights in $WORK.
#
# On the GPU machine (../shared does not travel; carry these, git-ignored):
#   mkdir -p device_data wheels && cp -r ../shared/data/bdd100k_vru device_data/
#   pip download --no-deps -d wheels ultralytics ultralytics-thop ultralytics-platform torch-pruning onnxslim
#   run: carry [device_data, wheels]; command: bash training/experiments/pipeline_bdd100k.sh
# Knobs (environment): EPOCHS (teacher/student/KD, default 30), PRUNE_EPOCHS (sparsity and
# fine-tune, default 10), IMGSZ (640), DEVICE (0), BATCH (32).
set -euo pipefail
cd "$(dirname "$0")/../.."
export YOLO_OFFLINE=1 MPLBACKEND=Agg
OUT=${OUT:-runs/pipeline_bdd100k_out}
WORK=${WORK:-/tmp/vru_pipeline_bdd100k}
DATA=device_data/bdd100k_vru/data.yaml
if [[ ! -f $DATA && -d ../shared/data/bdd100k_vru ]]; then
  mkdir -p device_data && cp -r ../shared/data/bdd100k_vru device_data/
fi
if [[ -d wheels ]] && ! python -c 'import ultralytics' 2>/dev/null; then
  pip install -q --no-index --find-links wheels ultralytics ultralytics-thop ultralytics-platform \
    torch-pruning onnxslim
fi
pip install -q --no-deps -e . 2>/dev/null || true
mkdir -p "$OUT"
python - "$OUT/recipe.yaml" <<PY
import sys, yaml
r = yaml.safe_load(open('training/recipes/bdd100k.yaml'))
e, p, s, b = int('${EPOCHS:-30}'), int('${PRUNE_EPOCHS:-10}'), int('${IMGSZ:-640}'), int('${BATCH:-32}')
for stage in ('teacher', 'distill'):
    r[stage].update(epochs=e, imgsz=s, batch=b)
    r[stage]['train'].update(workers=8, plots=True)
r['prune'].update(sparsity_epochs=p, finetune_epochs=p, imgsz=s, batch=b)
r['export'] = {'imgsz': s}
r['device'] = '${DEVICE:-0}'
yaml.safe_dump(r, open(sys.argv[1], 'w'), sort_keys=False)
PY
{ echo "command: EPOCHS=${EPOCHS:-30} PRUNE_EPOCHS=${PRUNE_EPOCHS:-10} IMGSZ=${IMGSZ:-640} bash $0"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo 'no GPU'
  python -c 'import torch, ultralytics; print("torch", torch.__version__, "ultralytics", ultralytics.__version__)'
} > "$OUT/environment.txt"
vru-train pipeline "$OUT/recipe.yaml" --data "$DATA" --out "$WORK" 2>&1 | tee "$OUT/pipeline.log"
cp "$WORK/report.md" "$WORK/manifest.json" "$OUT/"
cp "$WORK/evaluate/metrics.json" "$WORK/evaluate/accuracy.png" "$OUT/" 2>/dev/null || true
cp "$WORK/student_int8.onnx" "$OUT/" 2>/dev/null || true
