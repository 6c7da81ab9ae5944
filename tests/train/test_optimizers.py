"""``optim.<name>.implementation``: which torch kernel runs the update, and that the choice changes rounding only."""

from __future__ import annotations

import pytest
import torch

from gankit.config import OptimizerConfig
from gankit.errors import ConfigError
from gankit.train.optimizers import build_optimizer


def _params(seed: int = 0) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(*s, generator=g)) for s in ((16, 8), (8,), (3, 3, 4, 4))]


def _run(oc: OptimizerConfig, ratio: float = 1.0, steps: int = 5) -> tuple[torch.optim.Optimizer, list[torch.Tensor]]:
    ps = _params()
    opt = build_optimizer(ps, oc, "optim.d", ratio)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in ps:
            p.grad = torch.randn(p.shape, generator=g)
        opt.step()
    return opt, [p.detach().clone() for p in ps]


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_auto_is_fused_where_torch_has_a_fused_kernel(name):
    opt, _ = _run(OptimizerConfig(name=name, momentum=0.9 if name == "sgd" else 0.0))
    assert opt.defaults["fused"] is True


def test_rmsprop_auto_keeps_torchs_default_and_refuses_fused():
    opt, _ = _run(OptimizerConfig(name="rmsprop"))
    assert opt.defaults.get("foreach") is None
    with pytest.raises(ConfigError, match=r"optim\.d\.implementation: 'fused' exists for adam, adamw, sgd"):
        _run(OptimizerConfig(name="rmsprop", implementation="fused"))


@pytest.mark.parametrize("impl,key,value", [("foreach", "foreach", True), ("for_loop", "foreach", False), ("fused", "fused", True)])
def test_explicit_choices_reach_torch(impl, key, value):
    opt, _ = _run(OptimizerConfig(implementation=impl))
    assert opt.defaults[key] is value


def test_every_implementation_takes_the_same_adam_steps():
    """The update rule is Adam's whatever the kernel, lazy betas ** c included: equal to rounding, checked by hand for one."""
    oc = dict(lr=1e-2, betas=(0.5, 0.99))
    _, looped = _run(OptimizerConfig(implementation="for_loop", **oc), ratio=0.8)
    for impl in ("fused", "foreach"):
        _, other = _run(OptimizerConfig(implementation=impl, **oc), ratio=0.8)
        for a, b in zip(looped, other):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # Adam by hand (Kingma & Ba, bias-corrected), lr * c and betas ** c with c = 0.8
    lr, b1, b2, eps = 1e-2 * 0.8, 0.5**0.8, 0.99**0.8, 1e-8
    ps, g = _params(), torch.Generator().manual_seed(1)
    m = [torch.zeros_like(p) for p in ps]
    v = [torch.zeros_like(p) for p in ps]
    w = [p.detach().clone() for p in ps]
    for t in range(1, 6):
        for i, p in enumerate(ps):
            grad = torch.randn(p.shape, generator=g)
            m[i] = b1 * m[i] + (1 - b1) * grad
            v[i] = b2 * v[i] + (1 - b2) * grad**2
            w[i] = w[i] - lr * (m[i] / (1 - b1**t)) / ((v[i] / (1 - b2**t)).sqrt() + eps)
    _, fused = _run(OptimizerConfig(implementation="fused", **oc), ratio=0.8)
    for a, b in zip(w, fused):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_bad_implementation_names_the_choices():
    from gankit.config import load_config

    with pytest.raises(ConfigError) as e:
        load_config("configs/dcgan_fashion_mnist.yaml", ["optim.g.implementation=fast"])
    assert "auto" in str(e.value) and "fused" in str(e.value)
