import pytest
import torch

from gankit.errors import ConfigError
from gankit.regularizers import REGULARIZERS


@pytest.mark.parametrize("schedule", ["linear", "exponential", "constant"])
def test_schedule_starts_at_sigma_and_reaches_zero_at_until(schedule):
    reg = REGULARIZERS.build("instance_noise", {"sigma": 0.2, "schedule": schedule, "until": 100})
    assert reg.sigma_at(0, 1000) == 0.2
    assert reg.sigma_at(99, 1000) > 0
    assert reg.sigma_at(100, 1000) == 0.0 and reg.sigma_at(500, 1000) == 0.0
    values = [reg.sigma_at(t, 1000) for t in range(101)]
    assert all(a >= b for a, b in zip(values, values[1:]))  # never increases


def test_schedule_values():
    lin = REGULARIZERS.build("instance_noise", {"sigma": 0.2, "schedule": "linear", "until": 100})
    assert lin.sigma_at(25, 0) == pytest.approx(0.15)
    exp = REGULARIZERS.build("instance_noise", {"sigma": 0.2, "schedule": "exponential", "until": 100})
    assert exp.sigma_at(50, 0) == pytest.approx(0.2 * torch.exp(torch.tensor(-2.5)).item())
    default = REGULARIZERS.build("instance_noise", {})  # until None -> train.max_steps
    assert default.sigma_at(0, 40) == 0.1 and default.sigma_at(20, 40) == pytest.approx(0.05) and default.sigma_at(40, 40) == 0.0


def test_noise_has_the_scheduled_std_and_vanishes():
    torch.manual_seed(0)
    reg = REGULARIZERS.build("instance_noise", {"sigma": 0.5, "schedule": "constant", "until": 10})
    x = torch.zeros(64, 1, 16, 16)
    assert reg.transform_d_input(x, 0, 100).std().item() == pytest.approx(0.5, rel=0.02)
    assert reg.transform_d_input(x, 10, 100) is x
    y = torch.zeros(8, 2, requires_grad=True)  # differentiable: G's gradient passes
    reg.transform_d_input(y, 0, 100).sum().backward()
    assert torch.equal(y.grad, torch.ones(8, 2))


def test_bad_options():
    with pytest.raises(ConfigError, match="schedule"):
        REGULARIZERS.build("instance_noise", {"schedule": "cosine"}, "regularizers[0]")
    with pytest.raises(ConfigError, match="until"):
        REGULARIZERS.build("instance_noise", {"until": 0})
