from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gankit.core.clock import Clock
from gankit.tricks import TRICKS, TrickEnv


def _nets():
    G, D = nn.Linear(2, 2), nn.Linear(3, 1)
    for net, v in ((G, 1.0), (D, 2.0)):
        for p in net.parameters():
            nn.init.constant_(p, v)
    return G, D


def _env(G, D):
    return TrickEnv(raw={"G": G, "D": D}, optimizer_of={}, optim_cfg_of={})


def test_penalty_is_weighted_squared_distance_to_the_running_mean(ctx_for):
    G, D = _nets()
    reg = TRICKS.build("historical_averaging", {"weight": 0.5})
    reg.bind(_env(G, D))
    ctx = ctx_for(D, G=G)
    assert reg.d_term(ctx).item() == 0.0 and reg.g_term(ctx).item() == 0.0  # mean = initial weights
    with torch.no_grad():
        for p in D.parameters():
            p.fill_(4.0)  # D: 4 parameters, each 2 away from the mean 2
        for p in G.parameters():
            p.fill_(3.0)  # G: 6 parameters
    assert reg.d_term(ctx).item() == pytest.approx(0.5 * 4 * 2.0**2)
    assert ctx.logs["hist_avg"].item() == pytest.approx(4 * 2.0**2)
    reg.after_step("D", Clock(0, 0.0, 10))  # a D step does not update the means: once per iteration, after G
    assert reg.d_term(ctx).item() == pytest.approx(0.5 * 4 * 2.0**2)
    reg.after_step("G", Clock(0, 0.0, 10))  # mean of (2, 4) = 3 for D, (1, 3) = 2 for G
    assert reg.d_term(ctx).item() == pytest.approx(0.5 * 4 * 1.0)
    assert reg.g_term(ctx).item() == pytest.approx(0.5 * 6 * 1.0)
    with torch.no_grad():
        for p in D.parameters():
            p.fill_(0.0)
    reg.after_step("G", Clock(1, 0.1, 10))  # mean of (2, 4, 0) = 2
    assert reg.d_term(ctx).item() == pytest.approx(0.5 * 4 * 2.0**2)
    # gradient pulls towards the mean: d/dtheta = 2 * weight * (theta - mean)
    pen = reg.d_term(ctx)
    (g,) = torch.autograd.grad(pen, D.weight)
    assert torch.allclose(g, torch.full_like(g, 2 * 0.5 * (0.0 - 2.0)))


def test_on_d_only_and_state_round_trip():
    G, D = _nets()
    reg = TRICKS.build("historical_averaging", {"on": "D"})
    reg.bind(_env(G, D))
    assert set(reg.extra_weights()) == {"hist_D"} and reg.g_term(SimpleNamespace(logs={})) is None
    with torch.no_grad():
        D.weight.fill_(5.0)
    reg.after_step("G", Clock(0, 0.0, 10))
    saved, state = {k: {n: t.clone() for n, t in m.items()} for k, m in reg.extra_weights().items()}, reg.state_dict()
    other = TRICKS.build("historical_averaging", {"on": "D"})
    other.bind(_env(G, D))
    other.load_state_dict(state)
    other.load_extra_weights(saved)
    assert other.count == 2 and torch.equal(other.means["D"]["weight"], torch.full((1, 3), 3.5))
