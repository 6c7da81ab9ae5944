import pytest
import torch
from torch import nn

from gankit.config import load_config
from gankit.core.clock import Clock
from gankit.errors import ConfigError
from gankit.inference import load as load_generator
from gankit.tricks import TRICKS, TrickEnv
from gankit.train.checkpoint import load_checkpoint
from gankit.train.engine import train


def _net(w, b, mean):
    net = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
    with torch.no_grad():
        net[0].weight.fill_(w)
        net[0].bias.fill_(b)
        net[1].running_mean.fill_(mean)
    return net


def _env(G):
    return TrickEnv(raw={"G": G}, optimizer_of={}, optim_cfg_of={})


def test_update_formula_is_exact_after_two_steps():
    G = _net(1.0, -2.0, 0.0)
    ema = TRICKS.build("ema", {"decay": 0.75})
    ema.bind(_env(G))
    assert ema.averaged() == {"G_ema": ema.G_ema} and ema.G_ema is not G
    assert not any(p.requires_grad for p in ema.G_ema.parameters())
    with torch.no_grad():
        G[0].weight.fill_(3.0)
        G[0].bias.fill_(2.0)
        G[1].running_mean.fill_(5.0)
    ema.after_step("G", Clock(0, 0.0, 10))  # 0.75 * 1 + 0.25 * 3 = 1.5 ; 0.75 * -2 + 0.25 * 2 = -1
    ema.after_step("D", Clock(0, 0.0, 10))  # another network's step leaves the average alone
    with torch.no_grad():
        G[0].weight.fill_(5.5)
        G[1].running_mean.fill_(7.0)
    ema.after_step("G", Clock(1, 0.1, 10))  # 0.75 * 1.5 + 0.25 * 5.5 = 2.5 ; 0.75 * -1 + 0.25 * 2 = -0.25
    e = ema.G_ema
    assert torch.equal(e[0].weight, torch.full((1, 2), 2.5)) and torch.equal(e[0].bias, torch.tensor([-0.25]))
    assert torch.equal(e[1].running_mean, torch.tensor([7.0]))  # buffers are copied, not averaged
    assert torch.equal(e[1].weight, torch.ones(1))  # unchanged parameter stays


def test_start_copies_and_every_skips():
    G = _net(0.0, 0.0, 0.0)
    ema = TRICKS.build("ema", {"decay": 0.5, "start": 2, "every": 2})
    ema.bind(_env(G))
    for step, w, want in ((0, 4.0, 4.0), (1, 8.0, 8.0), (2, 0.0, 4.0), (3, 100.0, 4.0), (4, 2.0, 3.0)):
        with torch.no_grad():
            G[0].weight.fill_(w)
        ema.after_step("G", Clock(step, step / 10, 10))
        assert ema.G_ema[0].weight[0, 0].item() == want, step


@pytest.mark.parametrize("start", [0.2, "20%"])
def test_start_as_a_fraction_of_the_budget(start):
    """start: 0.2 of a 10-step budget copies before progress 0.2, as start: 2 does."""
    G = _net(0.0, 0.0, 0.0)
    ema = TRICKS.build("ema", {"decay": 0.5, "start": start, "every": 2})
    assert ema.start == 0.2
    ema.bind(_env(G))
    for step, w, want in ((0, 4.0, 4.0), (1, 8.0, 8.0), (2, 0.0, 4.0), (3, 100.0, 4.0), (4, 2.0, 3.0)):
        with torch.no_grad():
            G[0].weight.fill_(w)
        ema.after_step("G", Clock(step, step / 10, 10))
        assert ema.G_ema[0].weight[0, 0].item() == want, step
    # under a time budget, progress alone decides: step 1 at 30% of the budget averages already
    G2 = _net(0.0, 0.0, 0.0)
    late = TRICKS.build("ema", {"decay": 0.5, "start": start})
    late.bind(_env(G2))
    with torch.no_grad():
        G2[0].weight.fill_(6.0)
    late.after_step("G", Clock(0, 0.1, None))  # before start: a copy
    assert late.G_ema[0].weight[0, 0].item() == 6.0
    with torch.no_grad():
        G2[0].weight.fill_(2.0)
    late.after_step("G", Clock(1, 0.3, None))  # 0.5 * 6 + 0.5 * 2
    assert late.G_ema[0].weight[0, 0].item() == 4.0


def test_bad_options():
    with pytest.raises(ConfigError, match="decay"):
        TRICKS.build("ema", {"decay": 1.0})
    with pytest.raises(ConfigError, match="start"):
        TRICKS.build("ema", {"start": 1.5})
    with pytest.raises(ConfigError, match="network"):
        TRICKS.build("ema", {"network": "E"}).bind(_env(_net(0.0, 0.0, 0.0)))


def test_checkpoint_and_load_generator_use_g_ema(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe, ["regularizers=[{name: ema, decay: 0.9}]", "train.max_steps=3"])
    res = train(cfg, tmp_path / "run", hooks=[])
    ck = load_checkpoint(res.checkpoint)
    assert {p.stem for p in res.checkpoint.glob("*.safetensors")} == {"G", "D", "G_ema", "state"}  # one file per network
    g, g_ema = ck.weights("G"), ck.weights("G_ema")
    assert g.keys() == g_ema.keys()
    assert not torch.equal(g["net.0.weight"], g_ema["net.0.weight"])
    loaded = load_generator(tmp_path / "run")
    assert loaded.weights == "G_ema"
    assert all(torch.equal(v, g_ema[k]) for k, v in loaded.module.state_dict().items())
    raw = load_generator(tmp_path / "run", prefer_ema=False)
    assert raw.weights == "G"
    assert torch.equal(raw.module.state_dict()["net.0.weight"], g["net.0.weight"])


def test_ema_of_a_spectrally_normalised_g_round_trips(tiny_recipe, tmp_path):
    """EMA deep-copies a parametrised G; its checkpoint loads into the G that `gankit sample` rebuilds."""
    over = ["regularizers=[{name: spectral_norm, 'on': both}, {name: ema, decay: 0.5}]", "model.discriminator.norm=none", "train.max_steps=2"]
    res = train(load_config(tiny_recipe, over), tmp_path / "run", hooks=[])
    g_ema = load_checkpoint(res.checkpoint).weights("G_ema")
    assert any("parametrizations" in k for k in g_ema)
    loaded = load_generator(tmp_path / "run")
    assert all(torch.equal(v, g_ema[k]) for k, v in loaded.module.state_dict().items())
    assert torch.isfinite(loaded.sample(4)).all()
