"""Every loader on tiny files written in the official formats: IDX .gz (MNIST), CIFAR-10 pickled batches in the
python tarball and binary records (and their tarball), STL-10 column-major records, a photo folder.

Checksums, truncation, the partial-data switch, the offline error and the download path (with a fake server) are
all exercised here; the network is never touched (``root._open_url`` is replaced in every test).
"""
import gzip
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest

from minitorch_deblur.data import cifar10, images, mnist, photos, root, stl10
from minitorch_deblur.data.root import ChecksumError, DataError, MissingDataError, PartialDataError


@pytest.fixture(autouse=True)
def offline(no_network, monkeypatch):
    """No network (see conftest.py), and no data root from the environment."""
    monkeypatch.delenv(root.ENV_DATA, raising=False)
    monkeypatch.delenv(root.ENV_OFFLINE, raising=False)
    root._verified_in_process.clear()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def touch_later(path: Path) -> None:
    """Give a rewritten file a new mtime, as any real edit would (the stamp cache keys on size + mtime)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


# ------------------------------------------------------------------------------------------------- MNIST ----

def idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, dtype=">i4").tobytes()
    return gzip.compress(header + a.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A data root with 7 train and 3 test digits in the official IDX .gz files; FILES points at their sums."""
    rng = np.random.default_rng(0)
    data = {"train": (rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 10, 7)),
            "test": (rng.integers(0, 256, (3, 28, 28)), rng.integers(0, 10, 3))}
    folder = tmp_path / "root" / "mnist"
    folder.mkdir(parents=True)
    files, blobs = {}, {}
    for split, (x, y) in data.items():
        entries = []
        for (name, _, _), arr in zip(mnist.FILES[split], (x, y)):
            blob = idx_bytes(arr)
            blobs[name] = blob
            (folder / name).write_bytes(blob)
            entries.append((name, md5(blob), len(blob)))
        files[split] = tuple(entries)
    monkeypatch.setattr(mnist, "FILES", files)
    return tmp_path / "root", data, blobs


def test_mnist_reads_idx_gz(tiny_mnist):
    data_dir, data, _ = tiny_mnist
    ds = mnist.load_mnist("train", data_dir)
    assert len(ds) == 7 and ds.images.shape == (7, 1, 28, 28) and ds.images.dtype == np.uint8
    np.testing.assert_array_equal(ds.images[:, 0], data["train"][0])
    x, y = ds[np.array([4, 1])]
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[0, 0], data["train"][0][4] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, data["train"][1][[4, 1]])
    assert len(mnist.load_mnist("test", data_dir)) == 3


def test_mnist_data_root_from_environment(tiny_mnist, monkeypatch):
    data_dir, _, _ = tiny_mnist
    monkeypatch.setenv(root.ENV_DATA, str(data_dir))
    assert root.data_root() == data_dir
    assert len(mnist.load_mnist("test")) == 3
    assert root.data_root("elsewhere") == Path("elsewhere")  # --data-dir wins over the environment


def test_mnist_checksum_failure_names_path_and_sum(tiny_mnist):
    data_dir, _, blobs = tiny_mnist
    path = data_dir / "mnist" / "train-labels-idx1-ubyte.gz"
    blob = bytearray(blobs[path.name])
    blob[-3] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ChecksumError) as err:
        mnist.load_mnist("train", data_dir, download=False, fallback=False)
    assert str(path) in str(err.value) and md5(blobs[path.name]) in str(err.value)


def test_mnist_truncated_file_is_reported_not_half_loaded(tiny_mnist):
    data_dir, _, blobs = tiny_mnist
    path = data_dir / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(blobs[path.name][:-40])
    with pytest.raises(ChecksumError) as err:
        mnist.load_mnist("test", data_dir, download=False, fallback=False)
    assert str(path) in str(err.value) and "truncated" in str(err.value)


def test_idx_parser_rejects_short_data_even_with_a_matching_sum(tmp_path):
    raw = bytes([0, 0, 8, 3]) + np.asarray([2, 28, 28], ">i4").tobytes() + bytes(28 * 28 + 5)
    with pytest.raises(DataError, match="truncated"):
        mnist.parse_idx(raw, "x.gz")
    with pytest.raises(DataError, match="magic"):
        mnist.parse_idx(b"\x1f\x8b\x08\x00", "x.gz")


def test_verification_is_cached_and_redone_when_the_file_changes(tiny_mnist, monkeypatch):
    data_dir, _, blobs = tiny_mnist
    mnist.load_mnist("test", data_dir)
    calls = []
    real = root.md5sum
    monkeypatch.setattr(root, "md5sum", lambda p, chunk=1 << 20: calls.append(p) or real(p, chunk))
    root._verified_in_process.clear()  # a new process: only the stamp file remembers
    mnist.load_mnist("test", data_dir)
    assert calls == []
    path = data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(blobs[path.name])
    touch_later(path)
    mnist.load_mnist("test", data_dir)
    assert calls == [path]


def test_mnist_offline_error_says_which_files_go_where(tmp_path):
    with pytest.raises(MissingDataError) as err:
        mnist.load_mnist("train", tmp_path, fallback=False)
    msg = str(err.value)
    assert str(tmp_path / "mnist") in msg and "network disabled" in msg
    for name, sum_, _ in mnist.FILES["train"]:
        assert name in msg and sum_ in msg


def test_mnist_falls_back_to_the_embedded_subset_with_one_warning_line(tmp_path, capsys):
    ds = mnist.load_mnist("test", tmp_path)
    assert len(ds) == 1000 and "embedded" in ds.name
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "embedded" in err and str(tmp_path / "mnist") in err


class FakeResponse(io.BytesIO):
    def __init__(self, data, fail_after=None):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise KeyboardInterrupt  # the user killed the download
        return super().read(n)


def test_download_moves_files_into_place_after_their_checksum(tiny_mnist, monkeypatch, tmp_path):
    _, data, blobs = tiny_mnist
    urls = []

    def server(url, timeout):
        urls.append(url)
        return FakeResponse(blobs[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(root, "_open_url", server)
    ds = mnist.load_mnist("test", tmp_path / "fresh", fallback=False)
    np.testing.assert_array_equal(ds.labels, data["test"][1])
    assert urls[0].startswith(mnist.MIRRORS[0]) and len(urls) == 2
    assert sorted(p.name for p in (tmp_path / "fresh" / "mnist").iterdir()) == sorted(
        n for n, _, _ in mnist.FILES["test"])


def test_a_corrupt_or_killed_download_leaves_no_file(tiny_mnist, monkeypatch, tmp_path):
    _, _, blobs = tiny_mnist
    dest = tmp_path / "dl" / "mnist"
    monkeypatch.setattr(root, "_open_url", lambda url, timeout: FakeResponse(b"not the file"))
    with pytest.raises(MissingDataError, match="expected"):
        mnist.load_mnist("test", tmp_path / "dl", fallback=False)
    assert not dest.exists() and not dest.parent.exists()   # no file, and no folder it made
    blob = blobs["t10k-images-idx3-ubyte.gz"]
    monkeypatch.setattr(root, "_open_url", lambda url, timeout: FakeResponse(blob, fail_after=len(blob) // 2))
    with pytest.raises(KeyboardInterrupt):
        mnist.load_mnist("test", tmp_path / "dl", fallback=False)
    assert not dest.exists()
    dest.mkdir(parents=True)   # a folder that was there before stays
    with pytest.raises(KeyboardInterrupt):
        mnist.load_mnist("test", tmp_path / "dl", fallback=False)
    assert list(dest.iterdir()) == []


def test_offline_stops_at_the_first_unreachable_mirror_but_http_errors_try_the_next(tiny_mnist, monkeypatch,
                                                                                    tmp_path):
    from urllib.error import HTTPError

    _, _, blobs = tiny_mnist
    urls = []

    def unreachable(url, timeout):
        urls.append(url)
        raise URLError("Name or service not known")

    monkeypatch.setattr(root, "_open_url", unreachable)
    with pytest.raises(MissingDataError):
        mnist.load_mnist("test", tmp_path / "a", fallback=False)
    assert len(urls) == 1

    def first_mirror_gone(url, timeout):
        urls.append(url)
        if url.startswith(mnist.MIRRORS[0]):
            raise HTTPError(url, 403, "Forbidden", {}, None)
        return FakeResponse(blobs[url.rsplit("/", 1)[1]])

    urls.clear()
    monkeypatch.setattr(root, "_open_url", first_mirror_gone)
    assert len(mnist.load_mnist("test", tmp_path / "b", fallback=False)) == 3
    assert [u.startswith(mnist.MIRRORS[1]) for u in urls] == [False, True, False, True]

    urls.clear()
    monkeypatch.setenv(root.ENV_OFFLINE, "1")
    with pytest.raises(MissingDataError, match="MINITORCH_DEBLUR_OFFLINE"):
        mnist.load_mnist("test", tmp_path / "c", fallback=False)
    assert urls == []


# ---------------------------------------------------------------------------------------------- CIFAR-10 ----

N_PER_BATCH = 4


@pytest.fixture
def cifar_arrays():
    rng = np.random.default_rng(1)
    names = cifar10.BATCHES["train"] + cifar10.BATCHES["test"]
    return {b: (rng.integers(0, 256, (N_PER_BATCH, 3072), dtype=np.uint8), rng.integers(0, 10, N_PER_BATCH))
            for b in names}


def records(x, y):
    return np.concatenate([y.astype(np.uint8)[:, None], x], axis=1).tobytes()


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_cifar_python_tarball(tmp_path, monkeypatch, cifar_arrays):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    sums = {}
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for b, (x, y) in cifar_arrays.items():
            blob = pickle.dumps({b"batch_label": b.encode(), b"labels": y.tolist(), b"data": x}, protocol=2)
            sums[b] = md5(blob)
            add_bytes(tar, f"cifar-10-batches-py/{b}", blob)
    monkeypatch.setattr(cifar10, "PY_MD5", sums)
    monkeypatch.setattr(cifar10, "PY_ARCHIVE", ("cifar-10-python.tar.gz",
                                                root.md5sum(folder / "cifar-10-python.tar.gz"), None))
    ds = cifar10.load_cifar10("train", tmp_path, format="python")
    assert ds.images.shape == (5 * N_PER_BATCH, 3, 32, 32)
    x1, y1 = cifar_arrays["data_batch_2"]
    # R, G, B planes of 32x32 row-major: the byte at 1024 + 5 * 32 + 7 is green, row 5, column 7
    assert ds.images[N_PER_BATCH + 1, 1, 5, 7] == x1[1, 1024 + 5 * 32 + 7]
    np.testing.assert_array_equal(ds.labels[N_PER_BATCH:2 * N_PER_BATCH], y1)
    assert (folder / "cifar-10-batches-py" / "test_batch").is_file()  # extracted once
    assert len(cifar10.load_cifar10("test", tmp_path)) == N_PER_BATCH
    # an extracted member that is later corrupted fails its official checksum
    member = folder / "cifar-10-batches-py" / "data_batch_3"
    blob = bytearray(member.read_bytes())
    blob[100] ^= 1
    member.write_bytes(bytes(blob))
    touch_later(member)
    with pytest.raises(ChecksumError, match=sums["data_batch_3"]):
        cifar10.load_cifar10("train", tmp_path)


def write_bin_dir(folder, cifar_arrays, n=N_PER_BATCH):
    folder.mkdir(parents=True, exist_ok=True)
    for b, (x, y) in cifar_arrays.items():
        (folder / f"{b}.bin").write_bytes(records(x[:n], y[:n]))


def test_cifar_binary_records(tmp_path, monkeypatch, cifar_arrays):
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", N_PER_BATCH)
    write_bin_dir(tmp_path / "cifar10" / "cifar-10-batches-bin", cifar_arrays)
    ds = cifar10.load_cifar10("test", tmp_path, format="binary")
    x, y = cifar_arrays["test_batch"]
    np.testing.assert_array_equal(ds.images.reshape(N_PER_BATCH, -1), x)
    np.testing.assert_array_equal(ds.labels, y)
    assert ds.classes[int(y[0])] == cifar10.CLASSES[int(y[0])]


def test_cifar_binary_tarball_records_member_sums(tmp_path, monkeypatch, cifar_arrays):
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", N_PER_BATCH)
    folder = tmp_path / "cifar10"
    folder.mkdir()
    with tarfile.open(folder / "cifar-10-binary.tar.gz", "w:gz") as tar:
        for b, (x, y) in cifar_arrays.items():
            add_bytes(tar, f"cifar-10-batches-bin/{b}.bin", records(x, y))
    monkeypatch.setattr(cifar10, "BIN_ARCHIVE", ("cifar-10-binary.tar.gz",
                                                 root.md5sum(folder / "cifar-10-binary.tar.gz"), None))
    assert len(cifar10.load_cifar10("train", tmp_path, format="binary")) == 5 * N_PER_BATCH
    member = folder / "cifar-10-batches-bin" / "data_batch_1.bin"
    blob = bytearray(member.read_bytes())
    blob[10] ^= 1
    member.write_bytes(bytes(blob))
    touch_later(member)
    with pytest.raises(ChecksumError, match=str(member)):
        cifar10.load_cifar10("train", tmp_path, format="binary")


def test_cifar_partial_copy_needs_the_explicit_switch(tmp_path, monkeypatch, cifar_arrays, capsys):
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", N_PER_BATCH)
    write_bin_dir(tmp_path / "cifar10-partial", cifar_arrays, n=3)
    with pytest.raises(MissingDataError, match="allow_partial=True"):
        cifar10.load_cifar10("train", tmp_path, download=False)
    ds = cifar10.load_cifar10("train", tmp_path, allow_partial=True, download=False)
    assert len(ds) == 15 and "PARTIAL" in ds.name
    assert "15 of 20 images" in capsys.readouterr().err
    # a partial file inside the regular folder is refused the same way
    write_bin_dir(tmp_path / "cifar10" / "cifar-10-batches-bin", cifar_arrays, n=3)
    with pytest.raises(PartialDataError, match="3 of 4 records"):
        cifar10.load_cifar10("train", tmp_path, format="binary")


def test_cifar_partial_labels_are_checked_against_the_official_list(tmp_path, monkeypatch, cifar_arrays):
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", N_PER_BATCH)
    folder = tmp_path / "cifar10-partial"
    write_bin_dir(folder, cifar_arrays, n=2)
    labels = np.concatenate([cifar_arrays[b][1] for b in cifar10.BATCHES["train"]]).astype(np.uint8)
    for bad in (False, True):
        blob = labels.copy()
        if bad:
            blob[N_PER_BATCH] = (blob[N_PER_BATCH] + 1) % 10  # first label of batch 2
        (folder / "train_labels_50000.u8").write_bytes(blob.tobytes())
        monkeypatch.setitem(cifar10.LABEL_FILES, "train", ("train_labels_50000.u8", md5(blob.tobytes())))
        root._verified_in_process.clear()
        if bad:
            with pytest.raises(DataError, match="data_batch_2.bin is corrupt"):
                cifar10.load_cifar10("train", tmp_path, allow_partial=True, download=False)
        else:
            assert len(cifar10.load_cifar10("train", tmp_path, allow_partial=True, download=False)) == 10


def test_cifar_truncated_record_is_an_error(tmp_path, monkeypatch, cifar_arrays):
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", N_PER_BATCH)
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    write_bin_dir(folder, cifar_arrays)
    path = folder / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated") as err:
        cifar10.load_cifar10("test", tmp_path, allow_partial=True)
    assert str(path) in str(err.value)


def test_cifar_offline_error(tmp_path):
    with pytest.raises(MissingDataError) as err:
        cifar10.load_cifar10("train", tmp_path)
    msg = str(err.value)
    assert "cifar-10-python.tar.gz" in msg and cifar10.PY_ARCHIVE[1] in msg and str(tmp_path / "cifar10") in msg


# ------------------------------------------------------------------------------------------------ STL-10 ----

@pytest.fixture
def tiny_stl(tmp_path, monkeypatch):
    """train 3 / test 2 / unlabeled 2 images written column-major, as the official stl10_binary files."""
    rng = np.random.default_rng(2)
    folder = tmp_path / "stl10" / "stl10_binary"
    folder.mkdir(parents=True)
    images = {s: rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8) for s, n in
              (("train", 3), ("test", 2), ("unlabeled", 2))}
    labels = {"train": np.array([1, 10, 4], np.uint8), "test": np.array([7, 2], np.uint8)}
    files = dict(stl10.FILES)
    for split, x in images.items():
        blob = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).tobytes()  # column-major per channel on disk
        name = f"{split}_X.bin"
        (folder / name).write_bytes(blob)
        files[f"{split}_X"] = (name, md5(blob) if split != "unlabeled" else None, len(blob))
    for split, y in labels.items():
        (folder / f"{split}_y.bin").write_bytes(y.tobytes())
        files[f"{split}_y"] = (f"{split}_y.bin", md5(y.tobytes()), len(y))
    monkeypatch.setattr(stl10, "FILES", files)
    return tmp_path, images, labels


def test_stl10_reads_column_major_records_through_a_memory_map(tiny_stl):
    data_dir, images, labels = tiny_stl
    ds = stl10.load_stl10("train", data_dir)
    assert ds.images.shape == (3, 3, 96, 96) and isinstance(ds.images.base, np.memmap)
    np.testing.assert_array_equal(ds.images[2], images["train"][2])
    np.testing.assert_array_equal(ds.labels, labels["train"].astype(np.int64) - 1)
    x, y = ds[np.array([1])]
    assert x.shape == (1, 3, 96, 96) and x.dtype == np.float32 and y.tolist() == [9]
    assert len(stl10.load_stl10("test", data_dir)) == 2
    unl = stl10.load_stl10("unlabeled", data_dir)
    assert len(unl) == 2 and unl.labels is None


def test_stl10_corrupt_and_short_files(tiny_stl):
    data_dir, _, _ = tiny_stl
    folder = data_dir / "stl10" / "stl10_binary"
    path = folder / "test_X.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ChecksumError) as err:
        stl10.load_stl10("test", data_dir)
    assert str(path) in str(err.value) and stl10.FILES["test_X"][1] in str(err.value)
    unl = folder / "unlabeled_X.bin"  # no official sum: the size must still be the official one
    unl.write_bytes(unl.read_bytes()[: stl10.IMAGE_BYTES])
    with pytest.raises(PartialDataError):
        stl10.load_stl10("unlabeled", data_dir)
    assert len(stl10.load_stl10("unlabeled", data_dir, allow_partial=True)) == 1


def test_stl10_archive_is_extracted_and_checked(tiny_stl, monkeypatch):
    data_dir, images, _ = tiny_stl
    src = data_dir / "stl10" / "stl10_binary"
    archive = data_dir / "stl10" / "stl10_binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for p in sorted(src.iterdir()):
            add_bytes(tar, f"stl10_binary/{p.name}", p.read_bytes())
    for p in list(src.iterdir()):
        p.unlink()
    monkeypatch.setattr(stl10, "ARCHIVE", ("stl10_binary.tar.gz", root.md5sum(archive), None))
    ds = stl10.load_stl10("test", data_dir)
    np.testing.assert_array_equal(ds.images[1], images["test"][1])
    assert not (src / "train_X.bin").exists()  # only the members asked for


def test_stl10_offline_error(tmp_path):
    with pytest.raises(MissingDataError) as err:
        stl10.load_stl10("train", tmp_path)
    msg = str(err.value)
    assert "stl10_binary/train_X.bin" in msg and "918c2871b30a85fa023e0c44e0bee87f" in msg
    assert "stl10_binary.tar.gz" in msg


# ------------------------------------------------------------------------------------------------ photos ----

def test_photos_seeded_crops_split_by_photo(tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(5):
        arr = np.full((40 + i, 50, 3), 40 * i, dtype=np.uint8)  # photo i is the constant grey 40 * i
        Image.fromarray(arr).save(folder / f"p{i}.png")
    Image.fromarray(rng.integers(0, 256, (60, 60), dtype=np.uint8)).save(folder / "grey.jpg")
    (folder / "notes.txt").write_text("not a photo")
    train = photos.load_photos("train", folder, crop_size=32, crops_per_photo=3, test_fraction=0.34, seed=1)
    test = photos.load_photos("test", folder, crop_size=32, crops_per_photo=3, test_fraction=0.34, seed=1)
    assert len(test.photos) == 2 and len(train.photos) == 4 and not set(train.photos) & set(test.photos)
    assert train.images.shape == (12, 3, 32, 32) and test.images.dtype == np.uint8
    again = photos.load_photos("train", folder, crop_size=32, crops_per_photo=3, test_fraction=0.34, seed=1)
    np.testing.assert_array_equal(train.images, again.images)
    for name, crops in zip(train.photos, np.split(train.images, 4)):
        if name.startswith("p"):
            assert (crops == 40 * int(name[1])).all()
    with pytest.raises(DataError, match="smaller than"):
        photos.load_photos("train", folder, crop_size=64, test_fraction=0.0)
    with pytest.raises(MissingDataError):
        photos.load_photos("train", tmp_path / "nothing")


def test_image_files_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (3, 9, 7), dtype=np.uint8)
    images.save_image(images.from_uint8(rgb), tmp_path / "a.png")
    np.testing.assert_array_equal(images.load_image_uint8(tmp_path / "a.png"), rgb)
    x = images.load_image(tmp_path / "a.png")
    assert x.shape == (3, 9, 7) and x.dtype == np.float32
    np.testing.assert_array_equal(images.to_uint8(x), rgb)
    images.save_image(np.full((1, 4, 5), 2.0), tmp_path / "g.png")  # clipped to white, saved as greyscale
    assert images.load_image(tmp_path / "g.png", mode="L").tolist() == np.ones((1, 4, 5)).tolist()
    assert images.to_uint8(np.array([0.5 / 255, 1.5 / 255, -1.0])).tolist() == [0, 2, 0]  # rint: half to even
    with pytest.raises(ValueError, match="C, H, W"):
        images.save_image(np.zeros((2, 4, 4)), tmp_path / "bad.png")
