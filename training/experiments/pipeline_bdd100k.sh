#!/usr/bin/env bash
# The paper's table on real data in one call (issue: one-command pipeline): bdd100k.yaml with
# the epochs scaled to the time at hand, into $OUT (results + report), weights in $WORK.
# Trains on the train splits of every street-image dataset found (DATASETS), validates on
# bdd100k_vru's val split.
#
# On the GPU machine (../shared does not travel; carry these, git-ignored; 64 MiB in all, so
# coco_vru (48 MB) only fits without bdd100k_vru or the wheels):
#   mkdir -p device_data wheels && cp -r ../shared/data/bdd100k_vru device_data/
#   pip download --no-deps -d wheels ultralytics ultralytics-thop ultralytics-platform torch-pruning onnxslim
#   run: carry [device_data, wheels]; command: bash training/experiments/pipeline_bdd100k.sh
# On a CPU (the datasets are read from ../shared/data):
#   DEVICE=cpu TEACHER=yolov8s STUDENT=yolov8n IMGSZ=320 BATCH=16 WORKERS=2 EPOCHS=20 \
#     PRUNE_EPOCHS=6 bash training/experiments/pipeline_bdd100k.sh
# Knobs (environment): EPOCHS (teacher/student/KD, default 30), PRUNE_EPOCHS (sparsity and
# fine-tune, default 10), IMGSZ (640), DEVICE (0), BATCH (32), WORKERS (8), TEACHER (yolov8l),
# STUDENT (yolov8s), DATASETS ("bdd100k_vru coco_vru").
set -euo pipefail
cd "$(dirname "$0")/../.."
export YOLO_OFFLINE=1 MPLBACKEND=Agg
OUT=${OUT:-runs/pipeline_bdd100k_out}
WORK=${WORK:-/tmp/vru_pipeline_bdd100k}
mkdir -p "$OUT"
find_data() {  # device_data/ (carried to the GPU machine) first, then ../shared/data
  for root in device_data ../shared/data; do
    if [[ -f $root/$1/data.yaml ]]; then echo "$root/$1/data.yaml"; return; fi
  done
}
VAL=$(find_data bdd100k_vru)
[[ -n $VAL ]] || { echo "bdd100k_vru not found in device_data/ or ../shared/data" >&2; exit 1; }
TRAIN=()
for name in ${DATASETS:-bdd100k_vru coco_vru}; do
  found=$(find_data "$name")
  if [[ -n $found ]]; then TRAIN+=("$found"); else echo "skipping $name: not found" >&2; fi
done
if [[ -d wheels ]] && ! python -c 'import ultralytics' 2>/dev/null; then
  pip install -q --no-index --find-links wheels ultralytics ultralytics-thop ultralytics-platform \
    torch-pruning onnxslim
fi
pip install -q --no-deps -e . 2>/dev/null || true
DATA=$WORK.data/street/data.yaml
vru-train data yolo --out "$WORK.data/street" --train "${TRAIN[@]}" --val "$VAL" \
  | tee "$OUT/dataset.txt"
python - "$OUT/recipe.yaml" <<PY
import sys, yaml
r = yaml.safe_load(open('training/recipes/bdd100k.yaml'))
e, p, s, b = int('${EPOCHS:-30}'), int('${PRUNE_EPOCHS:-10}'), int('${IMGSZ:-640}'), int('${BATCH:-32}')
for stage in ('teacher', 'distill'):
    r[stage].update(epochs=e, imgsz=s, batch=b)
    r[stage]['train'].update(workers=int('${WORKERS:-8}'), plots=True)
r['teacher']['model'] = '${TEACHER:-yolov8l}'
r['distill']['student'] = '${STUDENT:-yolov8s}'
r['prune'].update(sparsity_epochs=p, finetune_epochs=p, imgsz=s, batch=b)
r['export'] = {'imgsz': s}
r['device'] = '${DEVICE:-0}'
yaml.safe_dump(r, open(sys.argv[1], 'w'), sort_keys=False)
PY
{ echo "command: DEVICE=${DEVICE:-0} TEACHER=${TEACHER:-yolov8l} STUDENT=${STUDENT:-yolov8s}" \
    "IMGSZ=${IMGSZ:-640} BATCH=${BATCH:-32} WORKERS=${WORKERS:-8} EPOCHS=${EPOCHS:-30}" \
    "PRUNE_EPOCHS=${PRUNE_EPOCHS:-10} DATASETS=\"${DATASETS:-bdd100k_vru coco_vru}\" bash $0"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo 'no GPU'
  python -c 'import torch, ultralytics; print("torch", torch.__version__, "ultralytics", ultralytics.__version__)'
} > "$OUT/environment.txt"
vru-train pipeline "$OUT/recipe.yaml" --data "$DATA" --out "$WORK" 2>&1 | tee "$OUT/pipeline.log"
cp "$WORK/evaluate/report.md" "$WORK/manifest.json" "$OUT/"  # its plot link: accuracy.png beside
cp "$WORK/evaluate/metrics.json" "$WORK/evaluate/accuracy.png" "$OUT/" 2>/dev/null || true
cp "$WORK/deployable_int8.onnx" "$OUT/" 2>/dev/null || true
