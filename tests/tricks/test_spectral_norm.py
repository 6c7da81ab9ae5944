import pytest
import torch
from torch import nn
from torch.nn.utils.parametrize import is_parametrized

from gankit.config import load_config
from gankit.models import build_discriminator, build_generator
from gankit.tasks import build_task
from gankit.tricks import TRICKS, Assembly


def _gan(tiny_recipe, on="D", extra=()):
    cfg = load_config(tiny_recipe, ["model.discriminator.norm=none", *extra])
    cfg.regularizers = [type(cfg.loss)(name="spectral_norm", on=on, n_power_iterations=1), *cfg.regularizers]
    return _Nets(build_task(cfg, (1, 28, 28)).build())


class _Nets:
    """The task's named networks as attributes (G, D)."""

    def __init__(self, nets):
        self.G, self.D = nets["G"], nets["D"]


def _layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]


def test_every_d_layer_is_normalised_to_unit_spectral_norm(tiny_recipe):
    gan = _gan(tiny_recipe)
    assert all(is_parametrized(m, "weight") for m in _layers(gan.D))
    assert not any(is_parametrized(m, "weight") for m in _layers(gan.G))
    x = torch.randn(8, 1, 28, 28)
    gan.D.train()
    for _ in range(30):  # each training forward runs one power iteration
        gan.D(x)
    gan.D.eval()
    for m in _layers(gan.D):
        W = m.weight  # the normalised weight
        sigma = torch.linalg.matrix_norm(W.flatten(1), 2).item()
        assert sigma == pytest.approx(1.0, abs=1e-2)
        raw = torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), 2).item()
        assert raw != pytest.approx(1.0, abs=1e-2)  # the raw weight is not itself unit-norm


def test_on_both_covers_g_including_transposed_convs(tiny_recipe):
    gan = _gan(tiny_recipe, on="both")
    assert all(is_parametrized(m, "weight") for m in _layers(gan.G) + _layers(gan.D))
    gan.G.train()
    for _ in range(30):
        gan.G(torch.randn(4, 8))
    for m in _layers(gan.G):
        W = m.weight.transpose(0, 1) if isinstance(m, nn.ConvTranspose2d) else m.weight  # torch uses dim=1 there
        assert torch.linalg.matrix_norm(W.flatten(1), 2).item() == pytest.approx(1.0, abs=1e-2)


def test_a_rebuilt_d_keeps_spectral_norm(tiny_recipe):
    """spectral_norm listed before pacgan: the packed D must be normalised too."""
    cfg = load_config(tiny_recipe, ["model.discriminator.norm=none"])
    cfg.regularizers = [type(cfg.loss)(name="spectral_norm"), type(cfg.loss)(name="pacgan", pac=2)]
    gan = _Nets(build_task(cfg, (1, 28, 28)).build())
    assert gan.D.inner.net[0].in_channels == 2
    assert all(is_parametrized(m, "weight") for m in _layers(gan.D))


def test_state_dict_round_trip_and_load_generator_rebuild(tiny_recipe):
    a, b = _gan(tiny_recipe, on="both"), _gan(tiny_recipe, on="both", extra=["seed=3"])
    a.D(torch.randn(4, 1, 28, 28))
    b.D.load_state_dict(a.D.state_dict())
    b.G.load_state_dict(a.G.state_dict())
    a.D.eval(), b.D.eval()
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(a.D(x), b.D(x))
    assert any(k.endswith("_u") for k in a.D.state_dict())  # power-iteration vectors travel with the weights


def test_plain_module_api():
    D = build_discriminator("mlp", {"hidden": 8}, (2,))
    G = build_generator("mlp", {"hidden": 8}, 4, (2,))
    asm = Assembly({"G": G, "D": D}, {"D": lambda s: build_discriminator("mlp", {"hidden": 8}, s)}, (2,), 8)
    TRICKS.build("spectral_norm", {"on": "G", "n_power_iterations": 3}).wrap(asm)
    gan = _Nets(asm.nets)
    assert all(is_parametrized(m, "weight") for m in _layers(gan.G)) and not any(is_parametrized(m, "weight") for m in _layers(gan.D))
    assert gan.G.net[0].parametrizations.weight[0].n_power_iterations == 3
