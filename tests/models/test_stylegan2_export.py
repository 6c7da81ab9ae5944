"""The StyleGAN2 G exports: ONNX (run by ONNX Runtime) and TorchScript match eager within 1e-4.

The modulated convolution scales activations rather than building per-sample weights, which is the
layer where other StyleGAN code fails to export; these tests hold that property.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gankit.models.stylegan2 import StyleGenerator

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


class Sampler(nn.Module):
    """What one ships: z (and psi in w) -> image, fixed noise, no training paths."""

    def __init__(self, g: StyleGenerator, psi: float) -> None:
        super().__init__()
        self.g, self.psi = g, psi

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.g(z, truncation_psi=self.psi)


def _generator(num_classes: int = 0) -> StyleGenerator:
    torch.manual_seed(0)
    g = StyleGenerator(16, (1, 28, 28), w_dim=16, mapping_layers=2, max_channels=16, min_channels=8, num_classes=num_classes)
    with torch.no_grad():  # a trained-looking w_avg, so truncation does something
        g.mapping.w_avg.copy_(torch.randn(16) * 0.5)
    return g.eval()


@pytest.mark.parametrize("psi", [1.0, 0.7])
def test_onnx_export_matches_eager(tmp_path, psi):
    model = Sampler(_generator(), psi).eval()
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "g.onnx"
    torch.onnx.export(model, (z,), str(path), input_names=["z"], output_names=["image"],
                      dynamic_shapes={"z": {0: torch.export.Dim("batch", min=1, max=1024)}})  # fmt: skip
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = model(z).numpy()
        got = sess.run(None, {"z": z.numpy()})[0]
        assert got.shape == want.shape == (4, 1, 28, 28)
        assert np.abs(got - want).max() <= 1e-4
        z1 = torch.randn(1, 16)  # another batch size through the same graph
        assert np.abs(sess.run(None, {"z": z1.numpy()})[0] - model(z1).numpy()).max() <= 1e-4


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
def test_torchscript_trace_matches_eager(tmp_path):
    model = Sampler(_generator(), 0.7).eval()
    z = torch.randn(3, 16)
    with torch.no_grad():
        traced = torch.jit.trace(model, (z,))
        path = tmp_path / "g.pt"
        traced.save(str(path))
        loaded = torch.jit.load(str(path))
        want = model(z)
        assert (loaded(z) - want).abs().max() <= 1e-4
        z5 = torch.randn(5, 16)
        assert (loaded(z5) - model(z5)).abs().max() <= 1e-4
