"""Shared test set-up.

Hypothesis profiles: "ci" (derandomized, reproducible, prints the failing example's blob) when $CI is set,
"dev" otherwise. Select one by hand with ``pytest --hypothesis-profile=dev``.
``pytest --device cuda`` (or $MINITORCH_DEBLUR_TEST_DEVICE=cuda) runs the op-table tests and gradient checks on
CuPy; without CuPy or a GPU it stops with one sentence. The ``no_network`` fixture keeps data tests offline, with checksum stamps in a private folder; ``cifar_partial``
writes a tiny partial CIFAR-10 in the official binary layout.
"""
import os
from urllib.error import URLError

import numpy as np

import pytest
from hypothesis import settings

def pytest_addoption(parser):
    parser.addoption("--device", choices=["cpu", "cuda"], default=os.environ.get("MINITORCH_DEBLUR_TEST_DEVICE", "cpu"),
                     help="where the op-table tests and gradient checks run (default cpu; or "
                          "$MINITORCH_DEBLUR_TEST_DEVICE)")


def pytest_configure(config):
    """``--device cuda`` without CuPy or a GPU stops the run at once with one sentence that says why."""
    if config.getoption("--device") != "cuda":
        return
    try:
        import cupy  # noqa: F401
    except ImportError:
        pytest.exit("--device cuda needs CuPy, which is not installed: pip install -e .[gpu] on a machine with an "
                    "NVIDIA GPU, or run the tests without --device", returncode=4)
    from minitorch_deblur.backend import gpu_available

    if not gpu_available():
        pytest.exit("--device cuda: CuPy is installed but sees no usable CUDA device (driver or GPU missing)",
                    returncode=4)


@pytest.fixture(scope="session")
def device(request):
    """'cpu', or 'cuda' under ``pytest --device cuda``."""
    return request.config.getoption("--device")


settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """No download can reach the network, and verification stamps go to a private folder."""
    from minitorch_deblur.data import root

    def refuse(url, timeout):
        raise URLError("network disabled in tests")

    monkeypatch.setattr(root, "_open_url", refuse)
    monkeypatch.setenv(root.ENV_CACHE, str(tmp_path / "stamps"))


def _smooth_images(n, rng):
    """uint8 (n, 3, 32, 32) images with structure (a blurred random field), so degradations change them."""
    x = rng.random((n, 3, 8, 8))
    return (np.kron(x, np.ones((4, 4))) * 255).astype(np.uint8)


@pytest.fixture
def cifar_partial(tmp_path, no_network):
    """A data root with a partial CIFAR-10 in the official binary layout: 8 records per train batch, 12 test."""
    folder = tmp_path / "data" / "cifar10-partial"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", 8) for i in range(1, 6)] + [("test_batch", 12)]:
        images = _smooth_images(n, rng)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        records = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())
    return tmp_path / "data"


def _natural_images(root, train, held_out, block):
    """A data root with natural-images/: ``train`` TRAIN and ``held_out`` HELD-OUT photographs of 12x16 random
    blocks of ``block`` px, and its MANIFEST.csv."""
    from PIL import Image

    folder = root / "natural-images"
    rows, rng = ["set,file,split"], np.random.default_rng(0)
    for split, n in (("train", train), ("held-out", held_out)):
        (folder / split).mkdir(parents=True)
        for i in range(n):
            image = (np.kron(rng.random((12, 16, 3)), np.ones((block, block, 1))) * 255).astype(np.uint8)
            Image.fromarray(image).save(folder / split / f"{i}.png")
            rows.append(f"{split},{i}.png,{split}")
    (folder / "MANIFEST.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture
def natural_images(tmp_path):
    """A data root with a tiny natural-images/: 3 TRAIN and 2 HELD-OUT photographs (64x48) and its MANIFEST.csv."""
    return _natural_images(tmp_path / "nat", 3, 2, 4)


@pytest.fixture
def natural_images_128(tmp_path):
    """natural-images/ with 4 TRAIN and 2 HELD-OUT photographs of 128x96: room for train nafnet's crop margin."""
    return _natural_images(tmp_path / "nat128", 4, 2, 8)
