"""DataLoader: seeded shuffling, batch sizes, drop_last, transforms, device transfer, no copy of the dataset."""
import tracemalloc

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur.data import ArrayDataset, DataLoader, random_split
from minitorch_deblur.data.degrade import Degrader


def numbered(n=10):
    """Image i is the constant i (uint8), label i: a batch tells which rows it holds."""
    images = np.repeat(np.arange(n, dtype=np.uint8), 4).reshape(n, 1, 2, 2)
    return ArrayDataset(images, np.arange(n))


def rows(loader):
    return [b[1].tolist() for b in loader]


def test_batches_cover_every_row_once_with_float_images_and_int_labels():
    loader = DataLoader(numbered(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (4, 1, 2, 2) and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0, 0, 0], np.arange(4) / 255.0, rtol=1e-6)
    assert sum(rows(loader), []) == list(range(10))


def test_drop_last():
    loader = DataLoader(numbered(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and rows(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_seeded_shuffle_is_reproducible_and_new_each_epoch():
    a = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=3)
    b = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=3)
    e1, e2 = rows(a), rows(a)
    assert e1 == rows(b) and e2 == rows(b)
    assert e1 != e2
    assert sorted(sum(e1, [])) == list(range(50))
    assert rows(DataLoader(numbered(50), batch_size=8, shuffle=True, seed=4)) != e1
    g = DataLoader(numbered(50), batch_size=8, shuffle=True, generator=mt.Generator(3))
    assert rows(g) == e1


def test_unseeded_shuffle_follows_the_global_seed():
    mt.manual_seed(11)
    first = rows(DataLoader(numbered(30), batch_size=5, shuffle=True))
    mt.manual_seed(11)
    assert rows(DataLoader(numbered(30), batch_size=5, shuffle=True)) == first


def test_transform_can_turn_images_into_pairs():
    loader = DataLoader(numbered(6), batch_size=3, transform=Degrader("gaussian_noise", seed=0))
    degraded, clean, labels = next(iter(loader))
    assert degraded.shape == clean.shape == (3, 1, 2, 2) and labels.tolist() == [0, 1, 2]
    assert not np.allclose(degraded, clean)
    loader = DataLoader(numbered(6), batch_size=3, transform=lambda x: 1.0 - x)
    x, _ = next(iter(loader))
    np.testing.assert_allclose(x[:, 0, 0, 0], 1.0 - np.arange(3) / 255.0, rtol=1e-6)


def test_device_transfer():
    x, _ = next(iter(DataLoader(numbered(4), batch_size=2, device="cpu")))
    assert isinstance(x, np.ndarray)
    if mt.gpu_available():
        x, y = next(iter(DataLoader(numbered(4), batch_size=2, device="cuda")))
        assert type(x).__module__.startswith("cupy") and type(y).__module__.startswith("cupy")
    else:
        with pytest.raises(RuntimeError, match="cuda"):
            next(iter(DataLoader(numbered(4), batch_size=2, device="cuda")))


def test_an_epoch_does_not_copy_the_dataset():
    n = 20000
    images = np.random.default_rng(0).integers(0, 256, (n, 1, 28, 28), dtype=np.uint8)  # 15.7 MB
    ds = ArrayDataset(images, np.zeros(n, dtype=np.uint8))
    assert ds.images is images
    loader = DataLoader(ds, batch_size=64, shuffle=True, seed=0)
    tracemalloc.start()
    try:
        count = sum(len(b[1]) for b in loader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < images.nbytes / 10, f"an epoch allocated {peak:,} bytes at once for a {images.nbytes:,}-byte set"


def test_random_split_is_disjoint_and_seeded():
    train, val = random_split(numbered(20), 0.1, seed=0)
    assert len(train) == 18 and len(val) == 2
    held = val[np.arange(2)][1].tolist()
    assert not set(held) & set(train[np.arange(18)][1].tolist())
    assert random_split(numbered(20), 0.1, seed=0)[1].indices.tolist() == held


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(numbered(), batch_size=0)
    with pytest.raises(ValueError, match="rows"):
        ArrayDataset(np.zeros((3, 1, 2, 2)), np.zeros(4))
