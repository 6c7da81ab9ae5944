import numpy as np
import pytest
import torch

from gankit.errors import DataError
from gankit.metrics.reference import check_shapes, load_reference_images, load_samples, parse_reference


def test_parse_dataset_specs():
    for spec in ("fashion-mnist:test", "fashion-mnist:train", "fashion-mnist:val", "mnist:test", "mnist:train", "mnist:val"):
        ref = parse_reference(spec)
        assert ref.kind == "dataset" and ref.spec == spec and ref.split == spec.split(":")[1]


def test_parse_folder(tmp_path):
    ref = parse_reference(str(tmp_path))
    assert ref.kind == "folder" and ref.path == tmp_path.resolve()


@pytest.mark.parametrize(
    "spec,match",
    [
        ("fashion-mnist", "needs a split"),
        ("fashion-mnist:valid", "unknown split 'valid'; valid: train, val, test"),
        ("mnist", "mnist:test, mnist:val or mnist:train"),
        ("fashoin-mnist:test", "Did you mean 'fashion-mnist:test'"),
        ("/no/such/folder", "not found"),
        ("", "empty reference"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(DataError, match=match):
        parse_reference(spec)


def test_missing_dataset_is_a_clear_error(monkeypatch, tmp_path):
    import gankit.data.fetch as fetch

    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(fetch, "SYSTEM_DIRS", ())
    with pytest.raises(DataError, match="mnist not found"):
        load_reference_images(parse_reference("mnist:test"))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(DataError) as e:
        check_shapes((3, 32, 32), (1, 28, 28), parse_reference("fashion-mnist:test"))
    assert "3x32x32" in str(e.value) and "1x28x28" in str(e.value)


def test_folder_reference_loads_at_sample_shape(tmp_path, png_folder, random_images):
    imgs = random_images(5, (3, 16, 16))
    png_folder(tmp_path / "ref", imgs)
    out = load_reference_images(parse_reference(str(tmp_path / "ref")), (3, 16, 16))
    assert torch.equal(out, imgs)


def test_load_samples_folder_and_npy(tmp_path, png_folder, random_images):
    gray = random_images(4, (1, 12, 12))
    png_folder(tmp_path / "gray", gray)
    assert torch.equal(load_samples(tmp_path / "gray"), gray)
    rgb = random_images(3, (3, 10, 10), 1)
    png_folder(tmp_path / "rgb", rgb)
    assert torch.equal(load_samples(tmp_path / "rgb"), rgb)
    np.save(tmp_path / "imgs.npy", gray.numpy())
    assert torch.equal(load_samples(tmp_path / "imgs.npy"), gray)
    np.save(tmp_path / "hw.npy", gray.numpy()[:, 0])
    assert torch.equal(load_samples(tmp_path / "hw.npy"), gray)
    pts = np.random.default_rng(0).normal(size=(20, 2))
    np.save(tmp_path / "pts.npy", pts)
    out = load_samples(tmp_path / "pts.npy")
    assert out.dtype == torch.float32 and out.shape == (20, 2)


def test_load_samples_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        load_samples(tmp_path / "empty")
    with pytest.raises(DataError, match="not found"):
        load_samples(tmp_path / "missing.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="pickled"):
        load_samples(tmp_path / "obj.npy")
    np.save(tmp_path / "f4.npy", np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(DataError, match="uint8"):
        load_samples(tmp_path / "f4.npy")
    np.save(tmp_path / "nhwc.npy", np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="N x C x H x W"):
        load_samples(tmp_path / "nhwc.npy")
    np.save(tmp_path / "none.npy", np.zeros((0, 1, 8, 8), np.uint8))
    with pytest.raises(DataError, match="empty"):
        load_samples(tmp_path / "none.npy")


def _write_train(folder, images):
    from gankit.data.idx import write_idx

    folder.mkdir(parents=True)
    write_idx(folder / "train-images-idx3-ubyte", images)  # un-gzipped names are accepted too
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(len(images), np.uint8))


@pytest.mark.parametrize("dataset", ["fashion-mnist", "mnist"])
def test_val_reference_is_the_end_of_the_training_file(tmp_path, dataset):
    small = np.random.default_rng(0).integers(0, 256, (120, 28, 28), dtype=np.uint8)
    _write_train(tmp_path / "small", small)
    out = load_reference_images(parse_reference(f"{dataset}:val"), data_root=str(tmp_path / "small"))
    assert out.dtype == torch.uint8 and out.shape == (12, 1, 28, 28)  # a tenth of 120
    assert torch.equal(out[:, 0], torch.from_numpy(small[108:]))
    # Large training files give 5,000 (VAL_SIZE): 50,010 // 10 = 5,001 would be one more.
    big = (np.arange(50010) % 251).astype(np.uint8).reshape(50010, 1, 1)
    _write_train(tmp_path / "big", big)
    out = load_reference_images(parse_reference(f"{dataset}:val"), data_root=str(tmp_path / "big"))
    assert out.shape == (5000, 1, 1, 1) and torch.equal(out[:, 0], torch.from_numpy(big[45010:]))
    train = load_reference_images(parse_reference(f"{dataset}:train"), data_root=str(tmp_path / "big"))
    assert len(train) == 50010  # train stays the whole training file
