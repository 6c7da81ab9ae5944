"""Content loss: frozen features, gradients to SR only, VGG19 weights only from a checked file."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gankit.core.errors import ConfigError
from gankit.objectives.content import FMNIST_SCALE, SRGAN_SCALE, build_content_loss, vgg19_layer_names


def _images(n: int, c: int, h: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, h, h, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture(scope="module")
def vgg_state() -> dict[str, torch.Tensor]:
    from torchvision.models import vgg19

    torch.manual_seed(0)
    return {f"features.{k}": v.clone() for k, v in vgg19(weights=None).features.state_dict().items()}


@pytest.fixture(scope="module")
def vgg_files(vgg_state, tmp_path_factory) -> dict[str, Path]:
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("vgg")
    st, pth = root / "vgg19.safetensors", root / "vgg19.pth"
    save_file(vgg_state, str(st))
    torch.save(vgg_state, pth)
    return {"safetensors": st, "pth": pth}


def test_fmnist_content_loss_on_28x28():
    loss = build_content_loss("fmnist", 1)
    hr, sr = _images(4, 1, 28), _images(4, 1, 28, seed=1)
    assert loss(hr, hr.clone()).item() == 0.0
    assert loss(sr, hr).item() > 0
    assert "fmnist classifier block2" in loss.description and f"mse x {FMNIST_SCALE['block2']:.4g}" in loss.description


def test_fmnist_matches_the_classifier_by_hand():
    from gankit.metrics.extractors.fmnist import MEAN, STD, load_fmnist_net

    net, _ = load_fmnist_net()
    hr, sr = _images(3, 1, 28), _images(3, 1, 28, seed=1)
    phi = lambda x: net.body[:7](((x + 1) / 2 - MEAN) / STD)  # block 2: conv, BN, ReLU; before its pool
    expected = FMNIST_SCALE["block2"] * F.mse_loss(phi(sr), phi(hr))
    assert build_content_loss("fmnist", 1)(sr, hr).item() == pytest.approx(expected.item(), rel=1e-5)
    feat = build_content_loss("fmnist", 1, layer="feat", scale=1.0)
    assert feat(sr, hr).item() == pytest.approx(F.mse_loss(net.forward_features((sr + 1) / 2)[0],
                                                           net.forward_features((hr + 1) / 2)[0]).item(), rel=1e-5)  # fmt: skip
    with pytest.raises(ConfigError, match="28x28"):
        feat(_images(1, 1, 32), _images(1, 1, 32))
    assert build_content_loss("fmnist", 1, layer="block1")(_images(2, 1, 56), _images(2, 1, 56, 1)).item() > 0


def test_gradient_reaches_sr_only_and_the_network_stays_frozen():
    loss = build_content_loss("fmnist", 1)
    sr, hr = _images(2, 1, 28).requires_grad_(True), _images(2, 1, 28, seed=1).requires_grad_(True)
    loss.train()  # the task's mode must not reach the feature network
    assert not loss.training and not any(m.training for m in loss.modules())
    loss(sr, hr).backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0
    assert hr.grad is None
    assert all(not p.requires_grad and p.grad is None for p in loss.parameters())


def test_fmnist_refuses_rgb_and_unknown_layers():
    with pytest.raises(ConfigError, match="vgg19"):
        build_content_loss("fmnist", 3)
    with pytest.raises(ConfigError, match="block2"):
        build_content_loss("fmnist", 1, layer="conv5_4")


def test_auto_and_none():
    assert build_content_loss("none", 1) is None
    assert "fmnist" in build_content_loss("auto", 1).description
    with pytest.warns(UserWarning, match="task.vgg_weights"):
        assert build_content_loss("auto", 3) is None
    with pytest.raises(ConfigError, match="unknown"):
        build_content_loss("lpips", 1)


@pytest.mark.parametrize("fmt", ["safetensors", "pth"])
def test_vgg19_loads_from_a_file_and_matches_torchvision(vgg_files, vgg_state, fmt):
    from torchvision.models import vgg19

    ref = vgg19(weights=None).features
    ref.load_state_dict({k[len("features."):]: v for k, v in vgg_state.items()})
    ref.eval()
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    names = vgg19_layer_names()
    assert names.index("conv5_4") == 34 and names.index("relu5_4") == 35 and names.index("relu2_2") == 8
    sr, hr = _images(2, 3, 32), _images(2, 3, 32, seed=1)
    with torch.no_grad():
        phi = lambda x: ref[:35](((x + 1) / 2 - mean) / std)  # conv5_4, before its ReLU
        expected = SRGAN_SCALE * F.mse_loss(phi(sr), phi(hr))
    loss = build_content_loss("auto", 3, vgg_weights=str(vgg_files[fmt]))
    assert loss(sr, hr).item() == pytest.approx(expected.item(), rel=1e-4)
    assert "vgg19 conv5_4 (before activation)" in loss.description and "ImageNet" in loss.description
    # grayscale is repeated to RGB; relu2_2 with L1
    g_sr, g_hr = _images(2, 1, 16), _images(2, 1, 16, seed=1)
    low = build_content_loss("vgg19", 1, vgg_weights=vgg_files[fmt], layer="relu2_2", scale=1.0, criterion="l1")
    with torch.no_grad():
        phi2 = lambda x: ref[:9](((x.repeat(1, 3, 1, 1) + 1) / 2 - mean) / std)
        assert low(g_sr, g_hr).item() == pytest.approx(F.l1_loss(phi2(g_sr), phi2(g_hr)).item(), rel=1e-4)
    assert "after ReLU" in low.description and "grayscale repeated" in low.description


def test_vgg19_fails_clearly(vgg_state, tmp_path):
    from safetensors.torch import save_file

    with pytest.raises(ConfigError, match="vgg19-dcbb9e9d"):
        build_content_loss("vgg19", 3)  # no path given
    with pytest.raises(ConfigError, match="task.vgg_weights .*not found"):
        build_content_loss("vgg19", 3, vgg_weights=tmp_path / "nope.pth")
    bad = dict(vgg_state)
    bad["features.34.weight"] = torch.zeros(512, 256, 3, 3)
    save_file(bad, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ConfigError, match=r"features\.34\.weight has shape"):
        build_content_loss("vgg19", 3, vgg_weights=tmp_path / "bad.safetensors")
    short = {k: v for k, v in vgg_state.items() if int(k.split(".")[1]) < 30}  # e.g. a VGG16-sized file
    save_file(short, str(tmp_path / "short.safetensors"))
    with pytest.raises(ConfigError, match="missing features.30.weight"):
        build_content_loss("vgg19", 3, vgg_weights=tmp_path / "short.safetensors")
    torch.save({"model": vgg_state["features.0.weight"], "epoch": 3}, tmp_path / "ckpt.pth")
    with pytest.raises(ConfigError, match="task.vgg_weights"):
        build_content_loss("vgg19", 3, vgg_weights=tmp_path / "ckpt.pth")
    with pytest.raises(ConfigError, match="not a VGG19 conv/relu layer"):
        build_content_loss("vgg19", 3, vgg_weights=tmp_path / "nope.pth", layer="pool5")


def test_fmnist_scale_reproduces_on_fashion_mnist():
    """FMNIST_SCALE: pixel MSE / feature MSE of 2x PIL-bicubic upscales of Fashion-MNIST test images."""
    from PIL import Image

    from gankit.data.fetch import default_root
    from gankit.data.idx import read_idx

    path = default_root("fashion-mnist") / "t10k-images-idx3-ubyte.gz"
    if not path.is_file():
        pytest.skip("Fashion-MNIST not fetched (gankit data fetch fashion-mnist)")
    imgs = np.asarray(read_idx(path)[:500])
    up = np.stack([np.asarray(Image.fromarray(im).resize((14, 14), Image.BICUBIC).resize((28, 28), Image.BICUBIC)) for im in imgs])
    to_t = lambda a: torch.from_numpy(a.copy()).float().div(127.5).sub(1).unsqueeze(1)
    hr, sr = to_t(imgs), to_t(up)
    mse = F.mse_loss(sr, hr).item()
    for layer, s in FMNIST_SCALE.items():
        with torch.no_grad():
            feat = build_content_loss("fmnist", 1, layer=layer, scale=1.0)(sr, hr).item()
        assert mse / feat == pytest.approx(s, rel=0.2), layer
