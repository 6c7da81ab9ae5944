"""One engine step of the GAN task == a hand-written reference step (same seed, same batch).

The reference is written here from the papers' algorithms with plain torch, so the engine's phase
machinery (freezing, detaching, fake reuse, transforms, clipping) is pinned to them exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.config import load_config
from gankit.core.phase import PhaseContext
from gankit.train.engine import Engine
from gankit.tricks.inputs.diffaugment import diff_augment

POLICY = ["color", "translation", "cutout"]


def _engine(recipe, tmp_path, over):
    return Engine(load_config(recipe, over), tmp_path / "run", hooks=[])


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


def _equal(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def _adam(params, oc):
    return torch.optim.Adam(params, lr=oc.lr, betas=oc.betas, fused=True)  # implementation auto: the fused kernel on CPU


def _reference_nonsaturating(e: Engine, augment: bool):
    """DCGAN's alternating step: D on real and detached G(z); then G on the same G(z) through a frozen D."""
    cfg = e.cfg
    G, D = e.raw["G"], e.raw["D"]
    opt_g, opt_d = _adam(G.parameters(), cfg.optim.g), _adam(D.parameters(), cfg.optim.d)
    aug = (lambda x: diff_augment(x, POLICY, 0.125, 0.5)) if augment else (lambda x: x)
    real = e.source.next_batch().x
    fake = G(torch.randn(len(real), cfg.model.z_dim))
    real_in, fake_in = aug(real), aug(fake.detach())
    d_loss = F.softplus(-D(real_in)).mean() + F.softplus(D(fake_in)).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    d_grads = [p.grad.clone() for p in D.parameters()]
    D.requires_grad_(False)
    g_loss = F.softplus(-D(aug(fake))).mean()
    opt_g.zero_grad()
    g_loss.backward()
    D.requires_grad_(True)
    opt_g.step()
    return _params(G), _params(D), d_grads


def _run_engine_step(e: Engine):
    """The engine's step, phase by phase, checking what each phase may and may not touch."""
    clock = e.clock
    d_phase, g_phase = e.task.phases(clock)
    scratch, out = {}, {}
    batch = e.source.next_batch()
    ctx = PhaseContext(clock, e.nets, e.raw, e.optimizers, e.device, scratch=scratch)
    e._run_phase(d_phase, ctx, batch, out, False)
    assert all(p.grad is None for p in e.raw["G"].parameters()), "D's loss reached G: the fakes were not detached"
    d_after, d_grads = _params(e.raw["D"]), [p.grad.clone() for p in e.raw["D"].parameters()]
    e._run_phase(g_phase, PhaseContext(clock, e.nets, e.raw, e.optimizers, e.device, scratch=scratch), batch, out, False)
    assert _equal(_params(e.raw["D"]), d_after), "the G step changed D's weights"
    assert _equal([p.grad for p in e.raw["D"].parameters()], d_grads), "the G step changed D's gradients"
    return _params(e.raw["G"]), _params(e.raw["D"]), d_grads


def test_default_step_equals_reference(tiny_recipe, tmp_path):
    eng = _run_engine_step(_engine(tiny_recipe, tmp_path / "a", []))
    ref = _reference_nonsaturating(_engine(tiny_recipe, tmp_path / "b", []), augment=False)
    assert _equal(eng[0], ref[0]) and _equal(eng[1], ref[1]) and _equal(eng[2], ref[2])


def test_diffaugment_step_equals_reference(tiny_recipe, tmp_path):
    over = [f"regularizers=[{{name: diffaugment, policy: [{', '.join(POLICY)}]}}]"]
    eng = _run_engine_step(_engine(tiny_recipe, tmp_path / "a", over))
    ref = _reference_nonsaturating(_engine(tiny_recipe, tmp_path / "b", over), augment=True)
    assert _equal(eng[0], ref[0]) and _equal(eng[1], ref[1])


def test_wgan_five_critic_steps_with_clipping_equal_reference(tiny_recipe, tmp_path):
    over = ["loss.name=wgan", "loss.clip=0.01", "optim.g.name=rmsprop", "optim.d.name=rmsprop", "optim.g.lr=5e-5", "optim.d.lr=5e-5"]
    a = _engine(tiny_recipe, tmp_path / "a", over)
    a.train_step(want=False)
    b = _engine(tiny_recipe, tmp_path / "b", over)
    G, D, cfg = b.raw["G"], b.raw["D"], b.cfg
    opt_g = torch.optim.RMSprop(G.parameters(), lr=5e-5)
    opt_d = torch.optim.RMSprop(D.parameters(), lr=5e-5)
    for _ in range(5):  # n_critic: the WGAN paper's 5 critic steps, each on fresh data and noise
        real = b.source.next_batch().x
        with torch.no_grad():
            fake = G(torch.randn(len(real), cfg.model.z_dim))
        loss = D(fake).mean() - D(real).mean()
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-0.01, 0.01)  # after every critic step
    D.requires_grad_(False)
    g_loss = -D(G(torch.randn(cfg.train.batch_size, cfg.model.z_dim))).mean()
    opt_g.zero_grad()
    g_loss.backward()
    D.requires_grad_(True)
    opt_g.step()
    assert _equal(_params(a.raw["G"]), _params(G)) and _equal(_params(a.raw["D"]), _params(D))
    assert max(p.abs().max().item() for p in a.raw["D"].parameters()) <= 0.01
