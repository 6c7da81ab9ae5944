import pytest
import torch

from gankit.errors import ConfigError
from gankit.tricks import TRICKS


def test_r1_on_a_linear_d_is_half_gamma_w_squared(linear_d, ctx_for):
    D, w = linear_d()
    r1 = TRICKS.build("r1", {"gamma": 4.0})
    real = torch.randn(8, 1, 4, 4)
    ctx = ctx_for(D, real=real, fake=torch.randn(8, 1, 4, 4))
    pen = r1.d_term(ctx)
    assert pen.item() == pytest.approx(4.0 / 2 * w.pow(2).sum().item(), rel=1e-5)
    assert ctx.logs["r1"].item() == pytest.approx(pen.item())
    # differentiable w.r.t. D's weights: d/dw (gamma/2 ||w||^2) = gamma * w
    (g,) = torch.autograd.grad(pen, D.lin.weight)
    assert torch.allclose(g.view(-1), 4.0 * w, rtol=1e-5)
    assert not real.requires_grad  # the loop's tensor is left alone


def test_r1_lazy_stores_every_and_returns_the_unscaled_penalty_on_every_call(linear_d, ctx_for):
    """Laziness (every k-th step, times k) is the engine's D_reg phase now, tested at task level."""
    D, w = linear_d()
    r1 = TRICKS.build("r1", {"gamma": 2.0, "every": 4})
    assert r1.every == 4 and r1.kind == "penalty"
    real = torch.randn(4, 1, 4, 4)
    full = w.pow(2).sum().item()  # gamma / 2 * ||w||^2 with gamma = 2
    for step in range(9):
        ctx = ctx_for(D, real=real, step=step)
        pen = r1.d_term(ctx)
        assert pen is not None and pen.item() == pytest.approx(full, rel=1e-5), step
        assert ctx.logs["r1"].item() == pytest.approx(full, rel=1e-5)


def test_r2_uses_the_fakes(linear_d, ctx_for):
    D, w = linear_d()
    r2 = TRICKS.build("r2", {"gamma": 10.0, "every": 2})
    assert r2.every == 2
    ctx = ctx_for(D, real=None, fake=torch.randn(5, 1, 4, 4), step=2)
    assert r2.d_term(ctx).item() == pytest.approx(5.0 * w.pow(2).sum().item(), rel=1e-5)  # not times every
    assert "r2" in ctx.logs
    assert r2.d_term(ctx_for(D, real=torch.randn(5, 1, 4, 4), fake=None)) is None


def test_r1_on_a_conv_d_matches_the_input_gradient(ctx_for):
    from gankit.models import build_discriminator

    torch.manual_seed(0)
    D = build_discriminator("dcgan", {"base_channels": 2, "norm": "none"}, (1, 28, 28)).double()
    x = torch.randn(3, 1, 28, 28, dtype=torch.float64)
    pen = TRICKS.build("r1", {"gamma": 2.0}).d_term(ctx_for(D, real=x))
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(xg).sum(), xg)
    assert pen.item() == pytest.approx(g.pow(2).flatten(1).sum(1).mean().item(), rel=1e-9)


def test_bad_options():
    with pytest.raises(ConfigError, match="every"):
        TRICKS.build("r1", {"every": 0}, "regularizers[0]")
    with pytest.raises(ConfigError, match="gamma"):
        TRICKS.build("r1", {"gamma": "lots"}, "regularizers[0]")
