"""The real files of ../shared/data (or $MINITORCH_DEBLUR_DATA) when present, and the embedded MNIST subset.

The shared-data tests are skipped where that folder does not exist; nothing here touches the network.
"""
import os
from pathlib import Path

import numpy as np
import pytest

from minitorch_deblur.data import cifar10, mnist, photos, root
from minitorch_deblur.data.root import MissingDataError, verify_file


def shared_root():
    env = os.environ.get(root.ENV_DATA)
    for cand in ([Path(env)] if env else []) + [Path(__file__).resolve().parents[1] / ".." / "shared" / "data"]:
        if (cand / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            return cand.resolve()
    return None


SHARED = shared_root()
needs_shared = pytest.mark.skipif(SHARED is None, reason="no ../shared/data (or $MINITORCH_DEBLUR_DATA) here")

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # the official class totals
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def offline(no_network, monkeypatch):
    """No network (see conftest.py)."""


@pytest.fixture(scope="module")
def real_mnist(tmp_path_factory):
    """Decoded once per session: (train, test)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(root.ENV_CACHE, str(tmp_path_factory.mktemp("stamps")))  # no stamps outside the test folders
    try:
        return mnist.load_mnist("train", SHARED, download=False, fallback=False), \
            mnist.load_mnist("test", SHARED, download=False, fallback=False)
    finally:
        mp.undo()


@needs_shared
def test_real_mnist_files_match_the_official_checksums():
    root._verified_in_process.clear()
    for split in ("train", "test"):
        for name, md5, size in mnist.FILES[split]:
            assert root.md5sum(verify_file(SHARED / "mnist" / name, md5, size)) == md5


@needs_shared
def test_real_mnist_counts(real_mnist):
    train, test = real_mnist
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert np.bincount(train.labels).tolist() == TRAIN_COUNTS
    assert np.bincount(test.labels).tolist() == TEST_COUNTS
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_embedded_subset_is_small_balanced_and_verified():
    files = [p for p in mnist.EMBEDDED_DIR.iterdir()]
    assert sum(p.stat().st_size for p in files) < 3_000_000
    assert (mnist.EMBEDDED_DIR / "README.md").read_text().count("CC BY-SA 3.0") >= 1
    train, test = mnist.load_embedded_mnist("train"), mnist.load_embedded_mnist("test")
    assert np.bincount(train.labels).tolist() == [500] * 10
    assert np.bincount(test.labels).tolist() == [100] * 10


@needs_shared
def test_embedded_subset_is_the_recorded_digits_of_real_mnist(real_mnist):
    with np.load(mnist.EMBEDDED_DIR / "mnist-subset-indices.npz") as z:
        idx = {"train": z["train"], "test": z["test"]}
    for split, full in zip(("train", "test"), real_mnist):
        sub = mnist.load_embedded_mnist(split)
        np.testing.assert_array_equal(sub.images, full.images[idx[split]])
        np.testing.assert_array_equal(sub.labels, full.labels[idx[split]])
        np.testing.assert_array_equal(idx[split], mnist.stratified_indices(full.labels, len(sub) // 10,
                                                                          int(split == "test")))


@needs_shared
def test_real_partial_cifar10_loads_only_when_asked(capsys):
    with pytest.raises(MissingDataError, match="allow_partial=True"):
        cifar10.load_cifar10("train", SHARED, download=False)
    train = cifar10.load_cifar10("train", SHARED, allow_partial=True, download=False)
    test = cifar10.load_cifar10("test", SHARED, allow_partial=True, download=False)
    assert len(train) == 4660 and len(test) == 846
    assert "4,660 of 50,000" in capsys.readouterr().err
    labels = np.fromfile(SHARED / "cifar10-partial" / "train_labels_50000.u8", dtype=np.uint8)
    np.testing.assert_array_equal(train.labels[:932], labels[:932])
    np.testing.assert_array_equal(train.labels[932:1864], labels[10000:10932])


@needs_shared
def test_real_photos_split_by_photo():
    tr = photos.load_photos("train", data_dir=SHARED, crops_per_photo=2)
    te = photos.load_photos("test", data_dir=SHARED, crops_per_photo=2)
    assert len(tr.photos) + len(te.photos) == 8 and len(te.photos) == 2
    assert not set(tr.photos) & set(te.photos)
    assert tr.images.shape == (12, 3, 96, 96)


@needs_shared
@pytest.mark.lesson3
def test_course_a_week3_degraded_psnr_is_reproduced():
    """The notebook printed a degraded mean of 20.01 dB on the first 5 CIFAR-10 test images (x4 bilinear via PIL)."""
    from minitorch_deblur.data.degrade import degrade
    from minitorch_deblur.metrics import psnr

    test = cifar10.load_cifar10("test", SHARED, allow_partial=True, download=False)
    x = test[np.arange(5)][0]
    assert psnr(x, degrade(x, "bilinear")) == pytest.approx(20.01, abs=0.005)
