import pytest
import torch

from gankit.config import load_config
from gankit.errors import ConfigError
from gankit.objectives import build_loss
from gankit.models import build_discriminator
from gankit.tasks import build_task
from gankit.tricks import TRICKS, TrickEnv


@pytest.mark.parametrize("name,params,shape", [("dcgan", {"base_channels": 4}, (1, 28, 28)), ("mlp", {"hidden": 8}, (2,)),
                                               ("dcgan", {"base_channels": 4, "minibatch_discrimination": 3}, (1, 28, 28))])  # fmt: skip
def test_fm_is_squared_distance_of_mean_features(ctx_for, name, params, shape):
    torch.manual_seed(0)
    D = build_discriminator(name, params, shape)
    real, fake = torch.randn(8, *shape), torch.randn(8, *shape).requires_grad_(True)
    reg = TRICKS.build("feature_matching", {"weight": 2.0})
    ctx = ctx_for(D, real=real, fake=fake)
    assert reg.g_scores(ctx, fake) is None  # adds to the adversarial loss by default
    term = reg.g_term(ctx)
    with torch.no_grad():
        want = (D.features(real).mean(0) - D.features(fake).mean(0)).pow(2).sum()
    assert term.item() == pytest.approx(2.0 * want.item(), rel=1e-5)
    assert ctx.logs["fm"].item() == pytest.approx(want.item(), rel=1e-5)
    (g,) = torch.autograd.grad(term, fake)
    assert g.abs().sum() > 0


def test_features_and_head_compose_to_forward():
    torch.manual_seed(0)
    for D, x in ((build_discriminator("dcgan", {"base_channels": 4}, (1, 28, 28)), torch.randn(4, 1, 28, 28)),
                 (build_discriminator("dcgan", {"base_channels": 4, "minibatch_std": True}, (3, 32, 32)), torch.randn(4, 3, 32, 32)),
                 (build_discriminator("mlp", {"hidden": 8, "minibatch_discrimination": 2}, (2,)), torch.randn(4, 2))):  # fmt: skip
        D.eval()
        assert torch.allclose(D.head(D.features(x)), D(x), atol=1e-6)


def test_replace_gives_g_no_adversarial_gradient(ctx_for):
    torch.manual_seed(0)
    D = build_discriminator("dcgan", {"base_channels": 4, "norm": "none"}, (1, 28, 28))
    real, fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28).requires_grad_(True)
    reg = TRICKS.build("feature_matching", {"replace": True})
    ctx = ctx_for(D, real=real, fake=fake)
    scores = reg.g_scores(ctx, fake)
    assert torch.allclose(scores, D(fake)) and not scores.requires_grad
    loss = build_loss("nonsaturating", {}).g_loss(scores) + reg.g_term(ctx)
    (g,) = torch.autograd.grad(loss, fake)
    fake2 = fake.detach().requires_grad_(True)
    fm_only = (D.features(real).mean(0).detach() - D.features(fake2).mean(0)).pow(2).sum()
    (g2,) = torch.autograd.grad(fm_only, fake2)
    assert torch.allclose(g, g2, atol=1e-6)


def test_errors(tiny_recipe):
    a, b = TRICKS.build("feature_matching", {"replace": True}), TRICKS.build("unrolled", {})
    with pytest.raises(ConfigError, match="replace"):
        a.bind(TrickEnv(raw={}, optimizer_of={}, optim_cfg_of={}, tricks=[a, b]))
    nets = build_task(load_config(tiny_recipe, ["regularizers=[{name: pacgan}, {name: feature_matching}]"]), (1, 28, 28)).build()
    assert nets["D"].features(torch.randn(4, 1, 28, 28)).shape[0] == 2  # packed features
