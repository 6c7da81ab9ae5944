import pytest
import torch

from gankit.tricks import TRICKS
from gankit.tricks.penalties.dragan import perturb


@pytest.mark.parametrize("k", [1.0, 0.0])
def test_dragan_on_a_linear_d(linear_d, k, ctx_for):
    D, w = linear_d()
    reg = TRICKS.build("dragan", {"weight": 3.0, "k": k})
    ctx = ctx_for(D, real=torch.randn(6, 1, 4, 4))
    pen = reg.d_term(ctx)
    assert pen.item() == pytest.approx(3.0 * (w.norm().item() - k) ** 2, rel=1e-5)
    assert ctx.logs["dragan"].item() == pytest.approx(pen.item() / 3.0)
    assert pen.requires_grad


def test_perturbation_is_within_c_std_above_the_data():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 8, 8)
    xp = perturb(x, 0.5)
    d = xp - x
    assert d.min() >= 0 and d.max() <= 0.5 * x.std() + 1e-6
    assert d.mean().item() == pytest.approx(0.25 * x.std().item(), rel=0.05)  # U[0,1) has mean 1/2
