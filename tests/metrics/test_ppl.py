"""Perceptual path length against closed forms on linear generators."""

from __future__ import annotations

import math

import numpy as np
import torch

import pytest

from gankit.metrics.ppl import feature_distance, filtered_mean, lerp, path_lengths, pixel_features, slerp


def test_w_space_on_a_linear_generator_is_the_squared_image_of_the_segment():
    """g(w) = A w, lerp: g(p(t + e)) - g(p(t)) = e A (w1 - w0), so l = |A (w1 - w0)|^2 exactly, for any t."""
    torch.manual_seed(0)
    A = torch.randn(12, 5, dtype=torch.float64)
    w0, w1 = torch.randn(300, 5, dtype=torch.float64), torch.randn(300, 5, dtype=torch.float64)
    lengths = path_lengths(lambda w: w @ A.t(), pixel_features, w0, w1, space="w", eps=1e-4)
    want = ((w1 - w0) @ A.t()).square().sum(1)
    assert torch.allclose(lengths, want, rtol=1e-6)
    x = want.numpy()
    lo, hi = np.percentile(x, 1, method="lower"), np.percentile(x, 99, method="higher")
    assert math.isclose(filtered_mean(lengths), x[(x >= lo) & (x <= hi)].mean(), rel_tol=1e-12)
    assert filtered_mean(lengths) < x.mean()  # the long tail is cut


def test_z_space_end_sampling_is_the_squared_angle_speed():
    """slerp at t = 0 moves at angular speed theta on the unit sphere: for g = identity, l = theta^2 (to O(eps))."""
    torch.manual_seed(1)
    z0, z1 = torch.randn(50, 8, dtype=torch.float64), torch.randn(50, 8, dtype=torch.float64)
    lengths = path_lengths(lambda z: z, pixel_features, z0, z1, space="z", sampling="end", eps=1e-4)
    cos = (z0 * z1).sum(1) / (z0.norm(dim=1) * z1.norm(dim=1))
    assert torch.allclose(lengths, torch.acos(cos).square(), rtol=1e-3)


def test_a_distance_function_instead_of_features():
    """d given directly (LPIPS' way) is divided by eps^2 as is: the squared pixel distance gives the pixel lengths."""
    torch.manual_seed(2)
    A = torch.randn(6, 3, dtype=torch.float64)
    w0, w1 = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 3, dtype=torch.float64)
    by_features = path_lengths(lambda w: w @ A.t(), pixel_features, w0, w1, space="w", generator=torch.Generator().manual_seed(0))
    by_distance = path_lengths(lambda w: w @ A.t(), None, w0, w1, space="w", generator=torch.Generator().manual_seed(0),
                               distance=feature_distance(pixel_features))  # fmt: skip
    assert torch.equal(by_features, by_distance)
    l1 = path_lengths(lambda w: w @ A.t(), None, w0, w1, space="w", distance=lambda a, b: (a - b).abs().sum(1))
    assert torch.allclose(l1 * 1e-4, ((w1 - w0) @ A.t()).abs().sum(1), rtol=1e-6)  # L1: linear in eps, so / eps^2 = / eps
    with pytest.raises(ValueError, match="exactly one"):
        path_lengths(lambda w: w, pixel_features, w0, w1, distance=feature_distance(pixel_features))
    with pytest.raises(ValueError, match="exactly one"):
        path_lengths(lambda w: w, None, w0, w1)


def test_slerp_and_lerp_end_points():
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    assert torch.allclose(slerp(a, b, torch.tensor([0.0])), torch.tensor([[1.0, 0.0]]))
    assert torch.allclose(slerp(a, b, torch.tensor([1.0])), torch.tensor([[0.0, 1.0]]), atol=1e-6)
    assert torch.allclose(slerp(a, b, torch.tensor([0.5])), torch.tensor([[0.5**0.5, 0.5**0.5]]), atol=1e-6)
    assert torch.allclose(lerp(a, b, torch.tensor([0.25])), torch.tensor([[2.25, 0.5]]))


def test_eval_ppl_of_a_run_and_a_clear_error_without_one(tiny_recipe, tmp_path, capsys):
    import json

    from gankit.cli import main
    from gankit.config import load_config
    from gankit.train.engine import train

    style = ["task=stylegan2", "model.z_dim=8", "train.batch_size=8",
             "model.generator={name: stylegan2, w_dim: 8, mapping_layers: 1, max_channels: 8, min_channels: 4}",
             "model.discriminator={name: stylegan2, max_channels: 8, min_channels: 4}"]  # fmt: skip
    run = train(load_config(tiny_recipe, style + ["train.max_steps=2"]), tmp_path / "r", hooks=[]).run_dir
    assert main(["eval", str(run), "--metrics", "ppl", "--n", "40", "--json", "--out", str(tmp_path / "e")]) == 0
    rep = json.loads(capsys.readouterr().out)
    names = {r["name"]: r for r in rep["metrics"]}
    assert set(names) == {"ppl_z_full", "ppl_z_end", "ppl_w_full", "ppl_w_end", "ppl_w_end_pixels"}
    assert all(r["value"] > 0 for r in names.values()) and names["ppl_w_end"]["protocol"]["extractor"] == "fmnist"
    assert names["ppl_w_end"]["details"]["pairs"] == 40 and names["ppl_w_end"]["details"]["eps"] == 1e-4
    import numpy as np

    np.save(tmp_path / "s.npy", np.zeros((4, 1, 28, 28), np.uint8))
    assert main(["eval", str(tmp_path / "s.npy"), "--metrics", "ppl"]) == 2
    assert "evaluate a run folder" in capsys.readouterr().err
