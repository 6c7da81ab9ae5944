import pytest
import torch

from gankit.losses import build_loss
from gankit.models import build_discriminator, build_generator
from gankit.regularizers import REGULARIZERS


def _setup(bn=False):
    torch.manual_seed(0)
    G = build_generator("mlp", {"hidden": 16}, 4, (2,))
    D = build_discriminator("mlp", {"hidden": 16}, (2,))
    if bn:
        D.net.insert(2, torch.nn.BatchNorm1d(16))
    return G, D, torch.randn(32, 2), torch.randn(32, 4)


def _g_grad(G, D, real, z, reg, ctx_for):
    loss = build_loss("nonsaturating", {})
    G.zero_grad()
    fake = G(z)
    ctx = ctx_for(D, real=real, fake=fake, G=G, loss=loss)
    scores = reg.g_scores(ctx, fake) if reg is not None else D(fake)
    loss.g_loss(scores).backward()
    return torch.cat([p.grad.flatten() for p in G.parameters()])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_unrolling_leaves_d_untouched_and_changes_gs_gradient(ctx_for, optimizer):
    G, D, real, z = _setup(bn=True)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    reg = REGULARIZERS.build("unrolled", {"steps": 3, "lr": 0.05, "optimizer": optimizer})
    D.requires_grad_(False)  # as in the loop's G phase
    g_unrolled = _g_grad(G, D, real, z, reg, ctx_for)
    D.requires_grad_(True)
    for k, v in D.state_dict().items():
        assert torch.equal(v, before[k]), k  # weights and BatchNorm buffers
    assert all(p.grad is None for p in D.parameters())
    g_plain = _g_grad(G, D, real, z, None, ctx_for)
    assert torch.isfinite(g_unrolled).all()
    assert not torch.allclose(g_unrolled, g_plain, rtol=1e-3, atol=1e-6)


def test_zero_lr_unrolling_equals_the_plain_gradient(ctx_for):
    G, D, real, z = _setup()
    reg = REGULARIZERS.build("unrolled", {"steps": 2, "lr": 1e-30, "optimizer": "sgd"})
    assert torch.allclose(_g_grad(G, D, real, z, reg, ctx_for), _g_grad(G, D, real, z, None, ctx_for), atol=1e-7)


def test_sgd_step_matches_a_real_d_update(ctx_for):
    """One simulated SGD step == one torch.optim.SGD step on the same batch."""
    G, D, real, z = _setup()
    loss = build_loss("nonsaturating", {})
    reg = REGULARIZERS.build("unrolled", {"steps": 1, "lr": 0.1, "optimizer": "sgd"})
    fake = G(z).detach()
    params, _ = reg.unrolled_params(D, real, fake, loss)
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    loss.d_loss(D(real), D(fake)).backward()
    opt.step()
    for n, p in D.named_parameters():
        assert torch.allclose(params[n], p, atol=1e-6), n


def test_adam_mirror_continues_ds_moments(ctx_for):
    """Simulated Adam steps == real torch.optim.Adam steps that started from the same state."""
    from types import SimpleNamespace

    G, D, real, z = _setup()
    loss = build_loss("nonsaturating", {})
    opt = torch.optim.Adam(D.parameters(), lr=0.01, betas=(0.5, 0.999))
    fake = G(z).detach()
    loss.d_loss(D(real), D(fake)).backward()
    opt.step()  # now D's Adam has moments
    reg = REGULARIZERS.build("unrolled", {"steps": 2})
    cfg = SimpleNamespace(optim=SimpleNamespace(d=SimpleNamespace(name="adam")))
    reg.setup(SimpleNamespace(opt_d=opt, cfg=cfg, regs=[reg]))
    assert reg.optimizer == "adam"
    params, _ = reg.unrolled_params(D, real, fake, loss)
    for _ in range(2):
        opt.zero_grad()
        loss.d_loss(D(real), D(fake)).backward()
        opt.step()
    for n, p in D.named_parameters():
        assert torch.allclose(params[n], p, atol=1e-6), n


def test_unrolled_trains_on_the_ring(tmp_path):
    from gankit.config import validate
    from gankit.train.trainer import train

    cfg = validate({"data": {"name": "ring8", "n_points": 512},
                    "model": {"z_dim": 4, "generator": {"name": "mlp", "hidden": 16}, "discriminator": {"name": "mlp", "hidden": 16}},
                    "regularizers": [{"name": "unrolled", "steps": 2}, {"name": "spectral_norm"}],
                    "train": {"batch_size": 64, "max_steps": 4}, "log": {"progress": False, "eval_every": 4}})  # fmt: skip
    assert train(cfg, tmp_path / "r", hooks=[]).step == 4
