"""Photos of digits -> MNIST inputs (imaging/digits.py), the predict command, and checkpoint stripping.

The photos in tests/data/digits/ are real MNIST digits drawn as ink on paper by tests/data/make_digit_photos.py;
sources.json says which digit of the embedded test subset each one shows.
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from minitorch_deblur import checkpoint, predict
from minitorch_deblur.checkpoint.__main__ import main as strip_command
from minitorch_deblur.imaging import digits
from minitorch_deblur.data import load_embedded_mnist
from minitorch_deblur.models import MLP
from minitorch_deblur.optim import Adam

PHOTOS = Path(__file__).parent / "data" / "digits"
SOURCES = json.loads((PHOTOS / "sources.json").read_text())


@pytest.fixture(scope="module")
def seen():
    """{file name: (Digit, the source MNIST digit put through the same 20 px fit and centring)}, made once."""
    mnist = load_embedded_mnist("test").arrays[0][:, 0].astype(np.float32) / 255
    return {name: (digits.preprocess(digits.read_photo(PHOTOS / name)),
                   digits.fit_mnist_box(mnist[source["mnist_test_index"]]))
            for name, source in SOURCES.items()}


@pytest.fixture
def mlp_checkpoint(tmp_path):
    """A training checkpoint (model, Adam moments, meta) of an untrained MLP: enough for format and CLI tests."""
    model = MLP()
    optimizer = Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    optimizer.step()
    return checkpoint.save_checkpoint(tmp_path / "run" / "model.npz", model, optimizer,
                                      meta={"epoch": 1, "history": {}, "model": "mlp"})


def centre_of_mass(image):
    total = image.sum()
    return (image.sum(1) @ np.arange(28)) / total, (image.sum(0) @ np.arange(28)) / total


# ------------------------------------------------------------------------------------------ the pipeline
def test_every_photo_has_a_source():
    files = sorted(p.name for p in PHOTOS.iterdir() if p.suffix in (".jpg", ".png"))
    assert files == sorted(SOURCES) and len(files) >= 20
    assert all(name.startswith(str(s["label"])) for name, s in SOURCES.items())


def test_preprocess_recovers_the_source_digit(seen):
    """Correlation after a 3x3 blur, which forgives the generator's +-4 degree tilt and one-pixel shifts."""
    def blurred_correlation(a, b):
        return np.corrcoef(digits._box_blur(a, 1).ravel(), digits._box_blur(b, 1).ravel())[0, 1]

    scores = {name: blurred_correlation(d.image, reference) for name, (d, reference) in seen.items()}
    assert min(scores.values()) > 0.7, scores
    assert np.mean(list(scores.values())) > 0.9, scores


def test_preprocess_makes_mnist_shaped_images(seen):
    for name, (d, _) in seen.items():
        image = d.image
        assert image.shape == (28, 28) and image.dtype == np.float32, name
        assert 0 <= image.min() and image.max() <= 1 and image.max() > 0.9, name
        assert np.allclose(centre_of_mass(image), (14, 14), atol=1.0), (name, centre_of_mass(image))
        ys, xs = np.nonzero(image > 0.1)
        assert 19 <= max(np.ptp(ys), np.ptp(xs)) + 1 <= 21, name
        assert image[0].max() == image[-1].max() == image[:, 0].max() == image[:, -1].max() == 0, name


@pytest.mark.parametrize("name", ["0_marker_shadow.png", "3_thin_lined.jpg", "5_pen_chalk.png",
                                  "2_marker_rgba.png"])
def test_white_on_black_gives_the_same_digit(seen, name):
    inverted = digits.preprocess(1 - digits.read_photo(PHOTOS / name))
    assert np.abs(inverted.image - seen[name][0].image).max() < 1e-3


def test_fit_mnist_box_leaves_mnist_digits_as_they_are():
    mnist = load_embedded_mnist("test").arrays[0][:20, 0].astype(np.float32) / 255
    for x in mnist:
        assert np.corrcoef(digits.fit_mnist_box(x).ravel(), x.ravel())[0, 1] > 0.99


def test_a_blank_photo_says_no_ink():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no ink found"):
        digits.preprocess(np.clip(0.8 + 0.01 * rng.standard_normal((120, 90)), 0, 1))


def test_label_components_joins_diagonals_and_counts():
    mask = np.zeros((6, 7), bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True       # one diagonal stroke (8-connected)
    mask[4:6, 3:7] = True                              # a block
    mask[0, 5] = True                                  # a dot
    labels, n = digits.label_components(mask)
    assert n == 3 and labels[0, 0] == labels[2, 2] != labels[4, 3] and (labels > 0).sum() == mask.sum()


# ------------------------------------------------------------------------------------------ the command
def test_cli_classifies_images_and_skips_the_rest(mlp_checkpoint, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    files = [str(PHOTOS / "7_pen_gradient.jpg"), str(notes), str(tmp_path / "missing.png"),
             str(PHOTOS / "1_thin_plain.png")]
    assert predict.main(["--checkpoint", str(mlp_checkpoint), "--device", "cpu", *files]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert re.fullmatch(r".*7_pen_gradient\.jpg: \d \(\d+\.\d%\)", lines[0])
    assert re.fullmatch(r".*1_thin_plain\.png: \d \(\d+\.\d%\)", lines[1])
    assert lines[2] == "classified 2 of 4 files (2 skipped)"
    assert f"{notes}: not an image file Pillow can read" in err
    assert f"{tmp_path / 'missing.png'}: no such file; skipped" in err
    assert len(err.splitlines()) == 2


def test_cli_fails_only_when_nothing_was_classified(mlp_checkpoint, tmp_path, capsys):
    assert predict.main(["--checkpoint", str(mlp_checkpoint), str(tmp_path / "missing.png")]) == 1
    assert "classified 0 of 1 files (1 skipped)" in capsys.readouterr().out


def test_cli_show_writes_a_figure(mlp_checkpoint, tmp_path, capsys):
    figure = tmp_path / "seen.png"
    files = [str(PHOTOS / "4_pen_shadow.jpg"), str(PHOTOS / "6_marker_tinted.png")]
    assert predict.main(["--checkpoint", str(mlp_checkpoint), "--show", str(figure), *files]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {figure}" in capsys.readouterr().out


def test_cli_says_how_to_make_a_missing_checkpoint(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(predict, "PRETRAINED", tmp_path / "cnn_mnist.npz")
    assert predict.main([str(PHOTOS / "1_thin_plain.png")]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint at" in err and "python -m minitorch_deblur.checkpoint strip" in err


# ------------------------------------------------------------------------------------------ checkpoints
def test_strip_keeps_weights_and_meta_only(mlp_checkpoint, tmp_path, capsys):
    stripped = tmp_path / "pretrained" / "mlp.npz"
    assert strip_command(["strip", str(mlp_checkpoint), str(stripped)]) == 0
    assert f"wrote {stripped}" in capsys.readouterr().out
    with np.load(stripped) as f:
        assert not [k for k in f.files if k.startswith("optim/")]
        record = json.loads(bytes(f["record.json"]).decode())
    assert set(record) == {"meta", "format_version"} and record["meta"]["model"] == "mlp"
    assert stripped.stat().st_size < mlp_checkpoint.stat().st_size / 2
    model, original = checkpoint.load_model(stripped), MLP()
    checkpoint.load_checkpoint(mlp_checkpoint, original)
    assert not model.training
    for (key, a), b in zip(model.state_dict().items(), original.state_dict().values()):
        assert np.array_equal(a, b), key


def test_load_model_needs_a_model_name(tmp_path):
    path = checkpoint.save_checkpoint(tmp_path / "model.npz", MLP(), meta={"epoch": 1})
    with pytest.raises(ValueError, match="meta\\['model'\\] is None"):
        checkpoint.load_model(path)


# ------------------------------------------------------------------------------------------ the shipped model
def test_shipped_cnn_reads_the_synthetic_photos(seen):
    if not predict.PRETRAINED.is_file():
        pytest.skip(f"no shipped checkpoint at {predict.PRETRAINED}; make it with: {predict.MAKE_PRETRAINED}")
    model = checkpoint.load_model(predict.PRETRAINED)
    names = list(seen)
    probabilities = predict.classify(model, np.stack([seen[n][0].image for n in names]))
    right = [n for n, p in zip(names, probabilities) if p.argmax() == SOURCES[n]["label"]]
    assert len(right) >= 0.9 * len(names), sorted(set(names) - set(right))


def test_a_tight_crop_keeps_the_bars_of_a_z_shaped_digit():
    """A 2, 7 or Z cropped to the ink has long horizontal bars, but each reaches one side at most: not ruled lines."""
    mask = np.zeros((60, 50), dtype=bool)
    mask[2:8, 8:] = True                                      # top bar, off the left side, reaching the right
    mask[52:58, :44] = True                                   # bottom bar, from the left side only
    for y in range(8, 52):
        mask[y, max(0, 44 - y * 44 // 52):50 - y * 44 // 52] = True  # the diagonal between them
    assert np.array_equal(digits.remove_ruled_lines(mask), mask)
    lined = mask.copy()
    lined[20:22, :] = lined[40:42, :] = True                  # two thin lines from side to side
    kept = digits.remove_ruled_lines(lined)
    assert not kept[20:22].all(axis=1).any() and not kept[40:42].all(axis=1).any()


# ------------------------------------------------------------------------------------- awkward files
def test_a_decompression_bomb_gets_its_own_line_and_the_rest_are_classified(mlp_checkpoint, tmp_path, capsys,
                                                                             monkeypatch):
    from PIL import Image

    big = tmp_path / "huge.png"
    Image.new("L", (150, 150), 255).save(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)     # 22,500 pixels is over twice the limit: a bomb
    files = [str(big), str(PHOTOS / "1_thin_plain.png")]
    assert predict.main(["--checkpoint", str(mlp_checkpoint), "--device", "cpu", *files]) == 0
    out, err = capsys.readouterr()
    assert "classified 1 of 2 files (1 skipped)" in out
    assert f"{big}: too large to open safely" in err and "22500 pixels" in err and "10,000 pixels" in err


def test_a_16_bit_grayscale_png_reads_like_its_8_bit_twin(tmp_path):
    from PIL import Image

    eight = digits.read_photo(PHOTOS / "1_thin_plain.png")
    path = tmp_path / "deep.png"
    Image.fromarray(np.round(eight * 65535).astype(np.uint16)).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    np.testing.assert_allclose(digits.read_photo(path), eight, atol=1 / 255)


def test_a_folder_argument_classifies_the_images_inside(mlp_checkpoint, tmp_path, capsys):
    import shutil

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("7_pen_gradient.jpg", "1_thin_plain.png"):
        shutil.copy(PHOTOS / name, folder / name)
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert predict.main(["--checkpoint", str(mlp_checkpoint), "--device", "cpu", str(folder), str(empty)]) == 0
    out, err = capsys.readouterr()
    assert [line.split(":")[0] for line in out.splitlines()[:2]] == [str(folder / "1_thin_plain.png"),
                                                                      str(folder / "7_pen_gradient.jpg")]
    assert "classified 2 of 3 files (1 skipped)" in out and f"{empty}: a folder with no images" in err
