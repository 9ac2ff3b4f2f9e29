"""No raw NumPy where the array module belongs: operators, nn, optim and the training steps call ``xp`` (NumPy or
CuPy, from the data) so the same code runs on a GPU. Every ``np.<function>(`` call in those files must be on the
allow-list below, with the reason it is host-side on purpose."""
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minitorch_deblur"
SCANNED = ["functional", "nn", "optim", "train"]
CALL = re.compile(r"\bnp\.([a-z_][a-z0-9_.]*)\s*\(")

# (file, code fragment of the line, why NumPy is right there)
ALLOWED = [
    ("functional/fast/conv_fft.py", "np.", "the DFT matrices are built once on the host, cached, then moved to the "
                                      "data's device with xp.asarray"),
    ("nn/conv.py", "np.empty(", "parameters are created on the CPU and moved with .to(device), as PyTorch's"),
    ("nn/linear.py", "np.empty(", "parameters are created on the CPU and moved with .to(device)"),
    ("nn/norm.py", "np.ones(num_features", "affine parameters start on the CPU, moved with .to(device)"),
    ("nn/norm.py", "np.zeros(num_features", "parameters / running statistics start on the CPU"),
    ("nn/norm.py", "np.ones(num_features, dtype=np.float32))", "running variance starts on the CPU"),
    ("nn/norm.py", "np.zeros((), dtype=np.int64)", "the batch counter starts on the CPU"),
    ("nn/channel.py", "np.ones(channels", "LayerNorm2d's scale starts on the CPU, moved with .to(device)"),
    ("nn/channel.py", "np.zeros(channels", "LayerNorm2d's shift starts on the CPU, moved with .to(device)"),
    ("nn/channel.py", "np.empty((channels, 1, kernel_size", "depthwise weights are created on the CPU, as Conv2d's"),
    ("nn/channel.py", "np.empty((channels,)", "the depthwise bias is created on the CPU, as Conv2d's"),
    ("nn/parameter.py", "np.asarray(data", "a Parameter made from a Python list or scalar starts on the CPU"),
    ("nn/module.py", "np.array(to_device(", "state_dict returns NumPy copies whatever the device (checkpoints)"),
    ("nn/module.py", "np.shape(", "shape of a state_dict entry, NumPy or CuPy alike"),
    ("nn/summary.py", "np.prod(", "sizes from shape tuples, Python integers"),
    ("nn/summary.py", "np.dtype(dtype).itemsize", "bytes per element, a Python integer"),
    ("nn/summary.py", "np.zeros(tuple(input_shape)", "the summary's probe input, on the CPU like the model it sizes"),
    ("optim/optimizer.py", "np.array(to_device(", "optimiser state_dict returns NumPy copies (checkpoints)"),
    ("train/loop.py", "np.mean(history", "epoch times, Python floats"),
    ("train/task.py", "np.bool_(True)", "a model without gradients: nothing to read from any device"),
    ("train/restore.py", "np.empty_like(images)", "augmentation of a uint8 CPU batch before it goes to the device"),
    ("train/restore.py", "np.rot90(images[i]", "augmentation of a CPU batch before it goes to the device"),
    ("train/restore.py", "np.random.default_rng((self.config.seed", "the augmentation's seeded host generator"),
    ("train/restore.py", "np.concatenate([images, crops.images])", "the training set is built on the CPU"),
    ("train/realblur.py", "np.arange(len(self.photos.files))", "photo indices for the TRAIN / validation split, on the host"),
    ("train/gan.py", "np.isfinite(value)", "the G loss as a Python float, read back by the loop"),
    ("train/gan.py", "np.isfinite(total)", "each loss term as a Python float, read back by the loop"),
    ("train/gan.py", "np.median(history)", "recent G losses, Python floats"),
]


def _files():
    for entry in SCANNED:
        path = PACKAGE / entry
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_no_raw_numpy_call_outside_the_allow_list():
    unexplained = []
    for path in _files():
        rel = path.relative_to(PACKAGE).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if not CALL.search(code):
                continue
            if not any(rel == f and fragment in code for f, fragment, _ in ALLOWED):
                unexplained.append(f"{rel}:{number}: {line.strip()}")
    assert not unexplained, ("np.<function>( where xp (the data's array module) belongs, or add it to ALLOWED in "
                             "tests/test_device_discipline.py with the reason:\n" + "\n".join(unexplained))


@pytest.mark.parametrize("file, fragment, reason", ALLOWED)
def test_every_allowance_is_still_used(file, fragment, reason):
    assert fragment in (PACKAGE / file).read_text(), f"{file} no longer has {fragment!r}: drop the allowance"


def test_device_cuda_without_cupy_or_a_gpu_stops_with_one_sentence(tmp_path):
    import subprocess
    import sys

    from minitorch_deblur.backend import gpu_available

    if gpu_available():
        pytest.skip("a GPU is here: --device cuda runs")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "--device", "cuda", "-p", "no:cacheprovider",
                             str(Path(__file__).parent / "test_device_discipline.py"), "-k", "allow_list"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 4 and "--device cuda" in out and ("CuPy" in out) and "Traceback" not in out
