#!/usr/bin/env bash
# The device checks of the GPU issue in one call, for a session lent the GPU machine (its image has CuPy and
# PyTorch): the op-table tests and gradient checks on CuPy, CPU/GPU parity, the CUDA kernels against the NumPy path,
# every training command in smoke mode on cuda, and a GPU checkpoint loaded on the CPU. Logs and a summary go to
# $OUT. Run it with:  run(command="bash benchmarks/gpu_check.sh", timeout_s=420)
set -u
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export MINITORCH_DEBLUR_DATA=${MINITORCH_DEBLUR_DATA:-$(cd ../shared/data 2>/dev/null && pwd || echo "")}
step() {  # name, timeout, command...
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}
python -m pip install --quiet -e ".[dev]" > "$OUT/install.log" 2>&1   # without the gpu extra: the image has CuPy
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
python -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)" > "$OUT/versions.txt" 2>&1
step pytest_cuda 240 python -m pytest -q --device cuda -p no:cacheprovider tests/test_ops.py tests/test_gpu_parity.py \
  tests/test_cuda_kernels.py
for model in mlp cnn; do
  step "train_$model" 60 python -m minitorch_deblur.train $model --device cuda --limit 512 --epochs 1 --no-progress \
    --out "$OUT/runs/$model"
done
for model in srcnn cae win5rb; do
  step "train_$model" 60 python -m minitorch_deblur.train $model --device cuda --allow-partial --limit 256 --epochs 1 \
    --no-progress --out "$OUT/runs/$model"
done
step train_deblurgan 90 python -m minitorch_deblur.train deblurgan --device cuda --crops-per-epoch 64 --limit 16 \
  --epochs 1 --no-progress --out "$OUT/runs/deblurgan"
step gpu_checkpoint_on_cpu 30 python -m minitorch_deblur.evaluate "$OUT/runs/srcnn/model.npz" --device cpu \
  --allow-partial --limit 64
cat "$OUT/summary.txt"
