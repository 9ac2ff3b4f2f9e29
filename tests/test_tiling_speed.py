"""A folder of photos is fast and a huge photo stays within --max-memory (issue 23, sections 3 and 6): the memory
probe runs once per model, the DFT path remembers kernel spectra only while they are valid, and the whole
process's peak RSS on a 16-megapixel grey photo stays under the bound."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur.autograd import no_grad
from minitorch_deblur.functional.fast import conv_fft, use_conv_path
from minitorch_deblur.imaging import tiling
from minitorch_deblur.models.srcnn import SRCNN

ROOT = Path(__file__).resolve().parents[1]


def test_the_probe_runs_once_per_model_and_equals_a_fresh_probe(monkeypatch):
    net = SRCNN(generator=mt.Generator(0)).eval()
    calls = []
    probe = tiling._probe
    monkeypatch.setattr(tiling, "_probe", lambda *a: calls.append(a) or probe(*a))
    first = tiling.bytes_per_pixel(net)
    for shape in [(3, 20, 30), (3, 41, 17)]:          # two photos of other sizes: no new probe
        tiling.restore_image(net, np.zeros(shape, dtype=np.float32))
    assert len(calls) == 1 and tiling.bytes_per_pixel(net) == first
    fresh = probe(net, 3, (48, 96))
    assert np.allclose(fresh, first, rtol=0.05, atol=4096)
    tiling.bytes_per_pixel(SRCNN(generator=mt.Generator(0)).eval())   # another model is probed on its own
    assert len(calls) == 2


def test_remembered_kernel_spectra_follow_in_place_weight_changes():
    rng = np.random.default_rng(0)
    x = mt.Tensor(rng.random((1, 16, 12, 12)).astype(np.float32))
    conv = mt.nn.Conv2d(16, 16, 5, padding=2, generator=mt.Generator(0))
    for _ in range(2):          # the second pass reads the remembered spectra; then the weights change in place
        with no_grad(), use_conv_path("fft"):
            fast = conv(x).data
        with no_grad(), use_conv_path("im2col"):
            reference = conv(x).data
        np.testing.assert_allclose(fast, reference, atol=1e-4)
        assert any(np.array_equal(entry[0], conv.weight.data) for entry in conv_fft._SPECTRA.values())
        conv.weight.data[...] *= -0.5


PEAK = textwrap.dedent("""
    import json, sys
    import numpy as np
    from PIL import Image
    import minitorch_deblur as mt
    from minitorch_deblur import deblur
    photo, out, gb = sys.argv[1], sys.argv[2], float(sys.argv[3])
    kb = lambda field: int(open("/proc/self/status").read().split(field + ":")[1].split()[0]) * 1024
    norm = [mt.nn.InstanceNorm2d(4)] if sys.argv[4] == "instance" else []
    net = mt.nn.Sequential(mt.nn.Conv2d(3, 4, 3, padding=1), *norm, mt.nn.ReLU(), mt.nn.Conv2d(4, 3, 3, padding=1)).eval()
    deblur._load = lambda args: (net, {"model": "srcnn"}, "tiny")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(out + ".small.png")
    assert deblur.main([out + ".small.png", "-o", out + ".small.out.png", "--device", "cpu"]) == 0
    base = kb("VmRSS")   # now: the interpreter, NumPy, Pillow and the model (ru_maxrss starts at the parent's)
    code = deblur.main([photo, "-o", out, "--max-memory", str(gb), "--device", "cpu"])
    peak = kb("VmHWM")   # the peak RSS of this process since it started (its exec)
    print(json.dumps({"code": code, "baseline": base, "peak": peak}))
""")


@pytest.mark.parametrize("norm, how", [("none", "tiles of"), ("instance", "blended tiles of")])
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak RSS from /proc (Linux)")
def test_a_16_megapixel_grey_photo_stays_within_max_memory(norm, how, tmp_path):
    from PIL import Image

    side, bound = 4000, 0.3e9       # float32 RGB copies of it in and out alone would take 384 MB
    grey = np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "big.png", compress_level=1)
    del grey
    run = subprocess.run([sys.executable, "-c", PEAK, str(tmp_path / "big.png"), str(tmp_path / "out.png"),
                          str(bound / 1e9), norm], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    grown = result["peak"] - result["baseline"]
    print(f"baseline {result['baseline'] / 1e6:.0f} MB, peak {result['peak'] / 1e6:.0f} MB, grown {grown / 1e6:.0f} MB")
    assert result["code"] == 0 and how in run.stdout
    assert grown < bound, f"peak RSS grew {grown / 1e6:.0f} MB over the {bound / 1e6:.0f} MB bound"
    with Image.open(tmp_path / "out.png") as im:
        assert im.mode == "L" and im.size == (side, side)


@pytest.mark.parametrize("mode", ["RGB", "LA", "I;16"])
def test_tiles_read_from_the_decoded_photo_and_written_as_they_go_equal_the_float_path(mode, tmp_path):
    from PIL import Image

    from minitorch_deblur.imaging.photo_io import Canvas, read_color_photo, read_photo, to_pil

    rng = np.random.default_rng(0)
    values = rng.random((45, 70, 4))
    image = Image.fromarray((values[..., 0] * 65535).astype(np.uint16)) if mode == "I;16" else \
        Image.fromarray((values * 255).astype(np.uint8), "RGBA").convert(mode)
    image.save(tmp_path / "in.png")
    net = SRCNN(generator=mt.Generator(0)).eval()
    rgb, photo = read_color_photo(tmp_path / "in.png")
    expected = np.asarray(to_pil(tiling.restore_image(net, rgb)[0], photo))
    pixels, photo = read_photo(tmp_path / "in.png")
    canvas = Canvas(photo, *pixels.shape[1:])
    _, how = tiling.restore_image(net, pixels, tile=16, out=canvas)
    assert how.startswith("15 tiles") and canvas.image().mode == image.mode
    assert np.abs(np.asarray(canvas.image()).astype(int) - expected).max() <= 1   # rounding at a .5 boundary
