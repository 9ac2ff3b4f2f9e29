"""What tiling, probing and checkpoint loading put on which device, checked on a CPU (issue 24, part 1).

A stand-in 'cuda' device: ``DeviceArray`` is a NumPy array whose class lives in a module named ``cupy...``, so the
backend takes it for a CuPy array (``device_of`` -> 'cuda'), and ``FakeCupy`` is the array module it belongs to,
with a memory pool whose size the test controls. The models here touch only their input's data, so no operator
needs a GPU kernel.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur import backend, nn
from minitorch_deblur.autograd import Tensor
from minitorch_deblur.backend import device_of
from minitorch_deblur.checkpoint import load_model, save_checkpoint
from minitorch_deblur.imaging import tiling
from minitorch_deblur.models.srcnn import SRCNN


class DeviceArray(np.ndarray):
    """A NumPy array the backend takes for a CuPy one."""

    def get(self) -> np.ndarray:
        return self.view(np.ndarray).copy()


DeviceArray.__module__ = "cupy._stand_in"


class Pool:
    """CuPy's memory pool as the probe reads it: total_bytes grows as a forward pass allocates."""

    def __init__(self) -> None:
        self.total, self.releases = 0, 0

    def free_all_blocks(self) -> None:
        self.releases += 1

    def total_bytes(self) -> int:
        return self.total


class FakeCupy:
    """The array module of DeviceArray: asarray copies to the 'device'; one memory pool."""

    ndarray = DeviceArray

    def __init__(self) -> None:
        self.pool = Pool()

    def asarray(self, a: Any, dtype: Any = None) -> DeviceArray:
        return np.array(a, dtype=dtype).view(DeviceArray)

    def get_default_memory_pool(self) -> Pool:
        return self.pool


@pytest.fixture
def fake_gpu(monkeypatch):
    """'cuda' means FakeCupy for the test's duration."""
    cp = FakeCupy()
    monkeypatch.setattr(backend, "_cupy", cp)
    return cp


FIXED, PER_PIXEL = 1000, 100     # what DeviceModel allocates on the device per call: FIXED + PER_PIXEL * H * W


class DeviceModel(nn.Module):
    """The identity, refusing input that is not on its parameter's device; each call grows the fake pool."""

    def __init__(self, pool: Pool) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.pool, self.inputs = pool, []   # type: Pool, List[str]

    def forward(self, x: Tensor) -> Tensor:
        where = device_of(x.data)
        self.inputs.append(where)
        assert where == self.device, f"input on {where}, model on {self.device}"
        self.pool.total += FIXED + PER_PIXEL * x.shape[2] * x.shape[3]
        return Tensor(x.data.copy())


def test_the_probe_and_every_tile_run_on_the_models_device(fake_gpu):
    model = DeviceModel(fake_gpu.pool).to("cuda")
    assert tiling.model_device(model) == "cuda"
    image = np.random.default_rng(0).random((3, 40, 40)).astype(np.float32)
    out, how = tiling.restore_image(model, image, tile=16)
    assert how.startswith("9 tiles of 16x16") and type(out) is np.ndarray      # the output is back on the host
    np.testing.assert_array_equal(out, image)
    assert model.inputs == ["cuda"] * (2 + 9)                                  # two probes, then nine tiles
    assert tiling.bytes_per_pixel(model) == (FIXED, PER_PIXEL)                 # measured on the device's pool
    assert fake_gpu.pool.releases == 2                                         # cached blocks released per probe


def test_max_memory_bounds_device_memory_on_a_gpu(fake_gpu):
    """On a GPU the bound covers the device's forward pass and its float input (4 bytes per value), not the host
    image and output: a bound just over that runs whole, just under it tiles."""
    model = DeviceModel(fake_gpu.pool).to("cuda")
    image = np.zeros((3, 40, 40), dtype=np.float32)
    need = FIXED + (PER_PIXEL + 4 * 3) * 40 * 40
    assert tiling.restore_image(model, image, max_memory=need / tiling.HEADROOM * 1.01)[1] == "whole image"
    assert "tiles of" in tiling.restore_image(model, image, max_memory=need / tiling.HEADROOM * 0.99)[1]
    with pytest.raises(ValueError, match="over the memory bound"):     # on the CPU the host image counts
        tiling.restore_image(DeviceModel(Pool()), image, max_memory=image.nbytes)


def test_a_device_other_than_the_models_is_refused(fake_gpu):
    model = DeviceModel(fake_gpu.pool).to("cuda")
    with pytest.raises(ValueError, match=r"device 'cpu' was asked but the model's parameters are on 'cuda'.*"
                                         r"model.to\('cpu'\)"):
        tiling.restore_image(model, np.zeros((3, 8, 8), dtype=np.float32), device="cpu")
    assert tiling.restore_image(model, np.zeros((3, 8, 8), dtype=np.float32), device="cuda:0")[1] == "whole image"


def test_the_memory_measure_is_chosen_by_device(fake_gpu):
    def allocate() -> None:
        host = np.ones(1_000_000)            # 8 MB of host memory
        fake_gpu.pool.total += 4096          # 4 KB of device memory
        del host

    assert tiling.peak_memory(allocate, "cpu") >= 8_000_000          # tracemalloc: host memory
    assert tiling.peak_memory(allocate, "cuda") == 4096              # the pool: device memory only
    assert fake_gpu.pool.releases == 1


def test_the_models_device_is_read_from_its_parameters(fake_gpu):
    model = DeviceModel(fake_gpu.pool)
    assert tiling.model_device(model) == "cpu"
    model.to("cuda")
    assert tiling.model_device(model) == "cuda" and type(model.scale.data) is DeviceArray
    assert tiling.model_device(nn.Sequential()) == "cpu"             # no parameters: the CPU


def test_load_model_puts_every_parameter_on_the_device(fake_gpu, tmp_path):
    saved = SRCNN(generator=mt.Generator(0))
    path = save_checkpoint(tmp_path / "srcnn.npz", saved, meta={"model": "srcnn"})
    model = load_model(path, "cuda")
    assert {device_of(p.data) for p in model.parameters()} == {"cuda"} and tiling.model_device(model) == "cuda"
    for key, value in saved.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value)   # state_dict copies back to the host
    host = load_model(path, "cpu")
    assert {device_of(p.data) for p in host.parameters()} == {"cpu"}


def test_load_model_on_auto_without_a_gpu_stays_plain_cpu(monkeypatch, tmp_path):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", "no GPU in this test")
    path = save_checkpoint(tmp_path / "srcnn.npz", SRCNN(generator=mt.Generator(0)), meta={"model": "srcnn"})
    model = load_model(path, "auto")
    assert tiling.model_device(model) == "cpu"
    assert not any(type(m).__name__ == "Conv2dActivation" for m in model.modules())   # GPU fusion not applied


def test_deblur_on_cuda_restores_every_photo_on_the_models_device(fake_gpu, monkeypatch, tmp_path, capsys):
    """The H200's failure: every photo 'skipped' because the memory probe fed a host array to a model on the GPU."""
    from PIL import Image

    from minitorch_deblur import deblur

    model = DeviceModel(fake_gpu.pool).to("cuda")
    monkeypatch.setattr(deblur, "_load", lambda args: (model, {"model": "identity"}, "identity"))
    pixels = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels[::-1]).save(tmp_path / "b.png")
    code = deblur.main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--out-dir", str(tmp_path / "out"),
                        "--device", "cuda", "--tile", "16"])
    out = capsys.readouterr()
    assert code == 0 and "restored 2 of 2 photos" in out.out and "skipped" not in out.err, out.err
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), pixels)
    assert set(model.inputs) == {"cuda"}
