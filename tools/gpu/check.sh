#!/bin/bash
# The measurements of the README's "On a GPU" section in one run, on a machine with an NVIDIA GPU where
# the project runs. PY: its Python (default python3); OUT: where reports and previews go (default
# renders/gpu_check). Each step is time-boxed and the run goes on when one fails, so one run reports
# all it can. On the lent machines: tools/gpu/prepare_carry.sh here, then tools/gpu/on_device.sh there.
# STEPS_256, STEPS_512: the training runs' step counts (each resumes the one before; empty: none at that size).
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the project, also where it is not installed
PY=${PY:-python3}
OUT=${OUT:-renders/gpu_check}
CLIP=tests/data/real/wolfgang_expressions.mp4
WEIGHTS=$OUT/w512.safetensors
mkdir -p "$OUT"

echo "== machine"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
timeout 90 "$PY" -m app.cli doctor
echo "== pytest -m gpu"; timeout 150 "$PY" -m pytest -q -p no:cacheprovider -m gpu tests/test_bridge.py tests/test_image.py
echo "== the GL tests on the GPU"
parallel=$("$PY" -c "import xdist" 2>/dev/null && echo "-n 8")  # pytest-xdist: about 45 s on an H100 machine
timeout 300 "$PY" -m pytest -q -p no:cacheprovider -rf $parallel tests/test_render_layers.py tests/test_render.py \
    tests/test_image.py tests/test_bridge.py tests/test_refine.py

train() {  # size, then step counts: each resumes the one before and reports its held-out PSNR
  local size=$1 resume=""; shift
  for steps in "$@"; do
    echo "-- ${size}²: to ${steps} steps"
    timeout 300 "$PY" -m app.cli train-refiner --target $CLIP --max-frames 240 --size "$size" --steps "$steps" \
        --every 1000 --quiet --out "$OUT/w$size.safetensors" $resume
    resume=--resume
  done
}
echo "== training"; train 256 ${STEPS_256-300 1000 3000}; train 512 ${STEPS_512-300 1000 3000}

echo "== the GPU chain at 512², with the refiner"
for mode in "" "--pipeline"; do
  timeout 120 "$PY" -m app.cli bench tools/gpu/chain.json --frames 400 --quiet $mode --set refine.weights="$WEIGHTS" \
      --json "$OUT/chain${mode:+-pipelined}.json"
done
timeout 120 "$PY" -m app.cli bench tools/gpu/chain.json --frames 400 --quiet --gpu-route read-back \
    --set refine.weights="$WEIGHTS" --json "$OUT/chain-read-back.json"
echo "== transfers and the refiner's parts"; timeout 120 "$PY" tools/gpu/profile_gpu.py "$WEIGHTS"

echo "== the shipped presets, with the refiner (need ffmpeg)"
for graph in video_to_portrait video_target; do
  for mode in "" "--pipeline"; do
    timeout 180 "$PY" -m app.cli bench "graphs/$graph.json" --frames 300 --quiet $mode \
        --set refine.weights="$WEIGHTS" --json "$OUT/$graph${mode:+-pipelined}.json"
  done
done
