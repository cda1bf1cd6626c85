import numpy as np
import pytest
from PIL import Image

from brainnet.embedded import CATEGORIES
from brainnet.stimuli import build_stimuli, load_image


def _write_folder(root, n=2):
    for category in ("cats", "dogs"):
        (root / category).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (20, 20), (10 * i, 50, 90)).save(root / category / f"{i}.png")


def test_folder_source_uses_subfolders_as_categories(tmp_path):
    _write_folder(tmp_path / "set")
    table = build_stimuli("folder", tmp_path / "out", path=tmp_path / "set")
    assert list(table["stimulus_id"].values) == ["cats/0", "cats/1", "dogs/0", "dogs/1"]
    assert list(table["category"].values) == ["cats", "cats", "dogs", "dogs"]


def test_csv_manifest_with_relative_paths(tmp_path):
    _write_folder(tmp_path)
    (tmp_path / "manifest.csv").write_text(
        "stimulus_id,path,category\na,cats/0.png,cat\nb,dogs/1.png,dog\n"
    )
    table = build_stimuli("csv", tmp_path / "out", path=tmp_path / "manifest.csv")
    assert list(table["stimulus_id"].values) == ["a", "b"]
    assert list(table["category"].values) == ["cat", "dog"]
    assert load_image(table["path"].values[1]).getpixel((0, 0)) == (10, 50, 90)


def test_embedded_set_is_deterministic_and_complete(tmp_path):
    first = build_stimuli("embedded", tmp_path / "a", n_per_category=3, image_size=48, seed=4)
    second = build_stimuli("embedded", tmp_path / "b", n_per_category=3, image_size=48, seed=4)
    other = build_stimuli("embedded", tmp_path / "c", n_per_category=3, image_size=48, seed=5)
    assert sorted(set(first["category"].values)) == sorted(CATEGORIES)
    pixels = [np.asarray(load_image(p)) for p in first["path"].values]
    assert all(p.shape == (48, 48, 3) for p in pixels)
    for a, b in zip(first["path"].values, second["path"].values, strict=True):
        assert np.array_equal(np.asarray(load_image(a)), np.asarray(load_image(b)))
    assert not np.array_equal(pixels[0], np.asarray(load_image(other["path"].values[0])))
    # images of one category differ (position, size, pose, colour, background)
    assert len({p.tobytes() for p in pixels}) == len(pixels)


@pytest.mark.parametrize(
    ("mode", "make"),
    [
        ("L", lambda: Image.new("L", (8, 8), 128)),
        ("RGBA", lambda: Image.new("RGBA", (8, 8), (255, 0, 0, 0))),
        ("P", lambda: Image.new("RGB", (8, 8), (0, 0, 255)).convert("P")),
        ("CMYK", lambda: Image.new("CMYK", (8, 8), (0, 255, 255, 0))),
        ("I;16", lambda: Image.fromarray(np.full((8, 8), 60000, dtype=np.uint16))),
    ],
)
def test_images_become_rgb(tmp_path, mode, make):
    path = tmp_path / "image.tiff"
    make().save(path)
    image = load_image(path)
    assert image.mode == "RGB"
    expected = {"L": (128,) * 3, "RGBA": (255,) * 3, "P": (0, 0, 255), "CMYK": (255, 0, 0)}
    if mode in expected:
        assert image.getpixel((0, 0)) == expected[mode]  # transparent composited on white


def test_sixteen_bit_range_is_kept(tmp_path):
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    values = np.asarray(load_image(tmp_path / "ramp.png"))[..., 0]
    assert values.min() == 0 and values.max() == 255
    assert np.all(np.diff(values.ravel().astype(int)) >= 0)


def test_corrupt_image_is_named(tmp_path):
    _write_folder(tmp_path / "set")
    bad = tmp_path / "set" / "dogs" / "1.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    with pytest.raises(ValueError, match=r"dogs/1: .*1\.png"):
        build_stimuli("folder", tmp_path / "out", path=tmp_path / "set")


def test_missing_file_is_named(tmp_path):
    (tmp_path / "m.csv").write_text("stimulus_id,path\na,nowhere.png\n")
    with pytest.raises(ValueError, match="nowhere.png"):
        build_stimuli("csv", tmp_path / "out", path=tmp_path / "m.csv")


def test_duplicate_stimulus_id_is_named(tmp_path):
    _write_folder(tmp_path)
    (tmp_path / "m.csv").write_text("stimulus_id,path\nx,cats/0.png\nx,cats/1.png\n")
    with pytest.raises(ValueError, match="duplicate stimulus_id.*'x'"):
        build_stimuli("csv", tmp_path / "out", path=tmp_path / "m.csv")


def test_manifest_without_path_column_is_refused(tmp_path):
    (tmp_path / "m.csv").write_text("stimulus_id,file\na,b.png\n")
    with pytest.raises(ValueError, match=r"m\.csv lacks column.*'path'"):
        build_stimuli("csv", tmp_path / "out", path=tmp_path / "m.csv")


def test_array_source_with_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (3, 10, 10, 3), dtype=np.uint8)
    np.save(tmp_path / "stim.npy", images)
    labels = '[{"category": "a"}, {"category": "b"}, {"category": "a"}]'
    (tmp_path / "labels.json").write_text(labels)
    table = build_stimuli(
        "array", tmp_path / "out", path=tmp_path / "stim.npy", labels=tmp_path / "labels.json"
    )
    assert list(table["stimulus_id"].values) == ["stim_001", "stim_002", "stim_003"]
    assert np.array_equal(np.asarray(load_image(table["path"].values[2])), images[2])


def test_zip_source_ids_are_stems(tmp_path):
    import zipfile

    _write_folder(tmp_path / "set")
    with zipfile.ZipFile(tmp_path / "images.zip", "w") as zf:
        zf.write(tmp_path / "set" / "cats" / "0.png", "image0001.png")
        zf.write(tmp_path / "set" / "dogs" / "1.png", "image0002.png")
    table = build_stimuli("zip", tmp_path / "out", path=tmp_path / "images.zip")
    assert list(table["stimulus_id"].values) == ["image0001", "image0002"]
