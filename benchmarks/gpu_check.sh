#!/usr/bin/env bash
# The GPU issue's device check in one prepared command (issue 24, part 3), about 6 minutes on the H200:
#   the whole test suite with --device cuda (pytest-xdist -n 8 when it imports, else a narrower serial selection),
#   every training command in smoke mode on cuda (one with --tf32), deblur and evaluate on cuda, a GPU checkpoint
#   scored on the CPU, and benchmarks/train_step.py --device cuda in FP32 and in TF32 (ours beside PyTorch + cuDNN).
# Each step has its own timeout and prints one summary line; the pytest run overlaps the training/deblur/evaluate
# smokes (16 cores, one big GPU), the benchmark runs alone. It needs no install and no data: PYTHONPATH is the
# checkout, and a tiny synthetic data root (partial CIFAR-10 layout, natural-images, a photo) is made in a temp dir.
# At most 7 files go to $OUT: summary.txt, pytest.log, train.log, deblur_evaluate.log, bench.log, bench_fp32.json,
# bench_tf32.json (the device tool brings back 8).
#
#   on the device:  run(command="bash benchmarks/gpu_check.sh", timeout_s=570)
#   on the CPU:     DEVICE=cpu bash benchmarks/gpu_check.sh        (or --cpu): the same steps on the CPU
#   quick:          QUICK=1 DEVICE=cpu bash benchmarks/gpu_check.sh   (1 test file, 1 training, 1 model benchmarked)
set -u
MODE=${DEVICE:-cuda}
[ "${1:-}" = "--cpu" ] && MODE=cpu
QUICK=${QUICK:-0}
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/.." || exit 2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg MINITORCH_DEBLUR_OFFLINE=1
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
BEGIN=$SECONDS

say() { echo "$*" | tee -a "$SUMMARY"; }

step() {  # name, time limit (s), log file in $OUT, command... -> one summary line: ok/FAILED, exit, seconds, note
  local name=$1 limit=$2 log=$OUT/$3 own=$WORK/$1.log
  shift 3
  local start=$SECONDS rc how note=""
  echo "===== $name: $*" > "$own"
  timeout -k 10 "$limit" bash -c '"$@"' "$name" "$@" >> "$own" 2>&1   # bash: the exported functions below
  rc=$?
  how="exit $rc"
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then how="TIMEOUT after $limit s"; fi
  if declare -F "note_${name%%_*}" > /dev/null; then note=$("note_${name%%_*}" "$own"); fi
  cat "$own" >> "$log"   # whole step logs, one after the other (steps that overlap do not interleave)
  say "$name: $([ $rc -eq 0 ] && echo ok || echo FAILED) ($how, $((SECONDS - start)) s)${note:+ $note}"
}
note_pytest() { grep -E "[0-9]+ (passed|failed|error)" "$1" | tail -1 | tr -d '='; }
note_bench() { echo "$(grep -cE '^\| [a-z].* [0-9.]+x \|' "$1") rows with a ratio"; }
note_deblur() { grep -E "^restored [0-9]+ of" "$1" | tr '\n' ' '; }
note_evaluate() { grep -E "^restored - input|accuracy" "$1" | tail -1; }
note_train() { grep -E "^epoch [0-9]+:" "$1" | tail -1 | cut -c1-110; }

# ------------------------------------------------------------------------------------------------ what runs
# (space-separated lists: the step functions run in a child bash, which gets exported strings, not arrays)
if [ "$QUICK" = 1 ]; then
  TESTS=tests/test_errors.py TRAIN=mlp BENCH=mlp SECS=0.2 LIMIT=64
elif [ "$MODE" = cuda ]; then
  TESTS=tests TRAIN="mlp cnn srcnn cae win5rb deblurgan" BENCH="mlp cnn srcnn cae win5rb gan" SECS=0.5 LIMIT=256
else
  TESTS=tests TRAIN="mlp cnn srcnn cae win5rb deblurgan" BENCH="mlp cnn srcnn cae win5rb gan:4" SECS=0.3 LIMIT=64
fi
XDIST=""
if "$PY" -c "import xdist" 2> /dev/null; then
  XDIST="-n $([ "$MODE" = cuda ] && echo 8 || echo auto)"
elif [ "$MODE" = cuda ] && [ "$QUICK" != 1 ]; then   # serially, the parts that exercise the GPU
  TESTS="tests/test_ops.py tests/test_gpu_parity.py tests/test_cuda_kernels.py tests/test_conv_paths.py
         tests/test_device_discipline.py tests/test_train.py tests/test_restoration.py tests/test_gan_train.py"
fi
if [ "$MODE" = cuda ]; then T_TEST=240; T_TRAIN=100; T_CMD=45; T_BENCH=150; else T_TEST=1800; T_TRAIN=300; T_CMD=120; T_BENCH=600; fi
[ "$QUICK" = 1 ] && T_TEST=60 T_TRAIN=60 T_CMD=60 T_BENCH=60

# -------------------------------------------------------------------------------------------- environment
{
  echo "gpu_check on $MODE$([ "$QUICK" = 1 ] && echo ' (QUICK)'), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
  [ "$MODE" = cuda ] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
  "$PY" -c "import sys, numpy; v = ['python ' + sys.version.split()[0], 'numpy ' + numpy.__version__]
for m in ('cupy', 'torch', 'xdist'):
    try: v.append(m + ' ' + getattr(__import__(m), '__version__', '?'))
    except Exception as e: v.append(m + ' -')
print(', '.join(v))" 2>&1
} | tee -a "$SUMMARY"

cat > "$WORK/make_data.py" <<'EOF'
"""A tiny data root: partial CIFAR-10 (binary layout), natural-images (3 train, 2 held-out), one photo."""
import sys
from pathlib import Path
import numpy as np
from PIL import Image
work, rng = Path(sys.argv[1]), np.random.default_rng(0)
smooth = lambda n, h, w: (np.kron(rng.random((n, h // 4, w // 4, 3)), np.ones((1, 4, 4, 1))) * 255).astype(np.uint8)
cifar = work / "data" / "cifar10-partial"
cifar.mkdir(parents=True)
for name, n in [(f"data_batch_{i}", 64) for i in range(1, 6)] + [("test_batch", 64)]:
    images = smooth(n, 32, 32).transpose(0, 3, 1, 2).reshape(n, -1)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    (cifar / f"{name}.bin").write_bytes(np.concatenate([labels[:, None], images], axis=1).tobytes())
nat, rows = work / "data" / "natural-images", ["set,file,split"]
for split, n in (("train", 3), ("held-out", 2)):
    (nat / split).mkdir(parents=True)
    for i, image in enumerate(smooth(n, 64, 96)):
        Image.fromarray(image).save(nat / split / f"{i}.png")
        rows.append(f"{split},{i}.png,{split}")
(nat / "MANIFEST.csv").write_text("\n".join(rows) + "\n")
Image.fromarray(smooth(1, 72, 96)[0]).save(work / "photo.png")
EOF
step data 30 train.log "$PY" "$WORK/make_data.py" "$WORK"
export PY MODE QUICK TESTS XDIST BENCH SECS LIMIT OUT WORK DATA=$WORK/data RUNS=$WORK/runs

# ------------------------------------------------------------------------ the suite beside the command smokes
run_tests() {
  env -u MINITORCH_DEBLUR_DATA -u MINITORCH_DEBLUR_OFFLINE "$PY" -m pytest -q -p no:cacheprovider \
    --device "$MODE" $XDIST $TESTS
}
export -f run_tests
step pytest "$T_TEST" pytest.log run_tests &
TESTS_PID=$!
[ "$MODE" = cuda ] || wait "$TESTS_PID"   # two CPU cores: one thing at a time

train() {  # run folder name, model, extra options...
  local name=$1 model=$2
  shift 2
  case $model in
    mlp | cnn) set -- --limit "$LIMIT" "$@" ;;
    deblurgan) set -- --crop-size 32 --crops-per-epoch 16 --batch-size 8 --limit 4 "$@" ;;
    *) set -- --allow-partial --limit "$LIMIT" --batch-size 32 "$@" ;;
  esac
  "$PY" -m minitorch_deblur.train "$model" --device "$MODE" --data-dir "$DATA" --epochs 1 --no-progress \
    --out "$RUNS/$name" "$@"
}
export -f train
SMOKES=()
for model in $TRAIN; do
  step "train_$model" "$T_TRAIN" train.log train "$model" "$model" &
  SMOKES+=($!)
  [ "$MODE" = cuda ] || wait $!
done
if [ "$QUICK" != 1 ]; then
  step train_cnn_tf32 "$T_TRAIN" train.log train cnn_tf32 cnn --tf32 &
  SMOKES+=($!)
fi
wait "${SMOKES[@]}"

deblur() {  # the default (GAN) model on the whole photo, then SRCNN in forced 32-pixel tiles; both files must exist
  "$PY" -m minitorch_deblur.deblur "$WORK/photo.png" -o "$WORK/restored.png" --device "$MODE" &&
    "$PY" -m minitorch_deblur.deblur "$WORK/photo.png" -o "$WORK/tiled.png" --model srcnn --tile 32 \
      --device "$MODE" && test -s "$WORK/restored.png" && test -s "$WORK/tiled.png"
}
evaluate() {  # a smoke run's checkpoint (SRCNN; the MLP when QUICK), scored on $1
  if [ "$QUICK" = 1 ]; then
    "$PY" -m minitorch_deblur.evaluate "$RUNS/mlp/model.npz" --device "$1" --data-dir "$DATA" --limit 64
  else
    "$PY" -m minitorch_deblur.evaluate "$RUNS/srcnn/model.npz" --device "$1" --data-dir "$DATA" --allow-partial \
      --limit 32
  fi
}
export -f deblur evaluate
step deblur "$T_CMD" deblur_evaluate.log deblur
step evaluate "$T_CMD" deblur_evaluate.log evaluate "$MODE"
step evaluate_on_cpu "$T_CMD" deblur_evaluate.log evaluate cpu
wait "$TESTS_PID"

# --------------------------------------------------------------------------------------- the benchmark, alone
bench() {  # json name, extra options...
  local name=$1
  shift
  "$PY" benchmarks/train_step.py --device "$MODE" --models $BENCH --seconds "$SECS" --child-timeout 90 \
    --markdown --json "$OUT/$name.json" "$@"
}
export -f bench
step bench_fp32 "$T_BENCH" bench.log bench bench_fp32
if [ "$MODE" = cuda ]; then
  step bench_tf32 "$((T_BENCH - 30))" bench.log bench bench_tf32 --tf32
else
  say "bench_tf32: skipped (on the CPU --tf32 changes nothing)"
fi

say "done: $(find "$OUT" -type f | wc -l) files in $OUT, $((SECONDS - BEGIN)) s in all"
! grep -q "FAILED" "$SUMMARY"   # the exit status: 0 when every step passed
