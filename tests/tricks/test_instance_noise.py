import pytest
import torch

from gankit.core.clock import Clock
from gankit.errors import ConfigError
from gankit.tricks import TRICKS


def _at(step, max_steps):
    """The old (step, max_steps) pair; max_steps 0: no step budget (the recipe gives ``until``)."""
    return Clock(step, step / max_steps if max_steps else 0.0, max_steps or None)


@pytest.mark.parametrize("schedule", ["linear", "exponential", "constant"])
def test_schedule_starts_at_sigma_and_reaches_zero_at_until(schedule):
    reg = TRICKS.build("instance_noise", {"sigma": 0.2, "schedule": schedule, "until": 100})
    assert reg.sigma_at(_at(0, 1000)) == 0.2
    assert reg.sigma_at(_at(99, 1000)) > 0
    assert reg.sigma_at(_at(100, 1000)) == 0.0 and reg.sigma_at(_at(500, 1000)) == 0.0
    values = [reg.sigma_at(_at(t, 1000)) for t in range(101)]
    assert all(a >= b for a, b in zip(values, values[1:]))  # never increases


def test_schedule_values():
    lin = TRICKS.build("instance_noise", {"sigma": 0.2, "schedule": "linear", "until": 100})
    assert lin.sigma_at(_at(25, 0)) == pytest.approx(0.15)
    exp = TRICKS.build("instance_noise", {"sigma": 0.2, "schedule": "exponential", "until": 100})
    assert exp.sigma_at(_at(50, 0)) == pytest.approx(0.2 * torch.exp(torch.tensor(-2.5)).item())
    default = TRICKS.build("instance_noise", {})  # until None -> train.max_steps
    assert default.sigma_at(_at(0, 40)) == 0.1 and default.sigma_at(_at(20, 40)) == pytest.approx(0.05) and default.sigma_at(_at(40, 40)) == 0.0


@pytest.mark.parametrize("until", [0.5, "50%"])
def test_until_as_a_fraction_of_the_budget(until):
    lin = TRICKS.build("instance_noise", {"sigma": 0.2, "schedule": "linear", "until": until})
    assert lin.until == 0.5
    assert lin.sigma_at(Clock(0, 0.0, 1000)) == pytest.approx(0.2)
    assert lin.sigma_at(Clock(250, 0.25, 1000)) == pytest.approx(0.1)  # half-way to until: half of sigma
    assert lin.sigma_at(Clock(500, 0.5, 1000)) == 0.0 and lin.sigma_at(Clock(700, 0.7, 1000)) == 0.0
    # a time budget: progress alone counts, whatever the step
    assert lin.sigma_at(Clock(3, 0.25, None)) == pytest.approx(0.1)
    assert lin.sigma_at(Clock(3, 0.5, None)) == 0.0 and lin.sigma_at(Clock(3, 1.0, None)) == 0.0
    const = TRICKS.build("instance_noise", {"sigma": 0.2, "schedule": "constant", "until": until})
    assert const.sigma_at(Clock(250, 0.25, 1000)) == 0.2 and const.sigma_at(Clock(500, 0.5, 1000)) == 0.0


def test_noise_has_the_scheduled_std_and_vanishes():
    torch.manual_seed(0)
    reg = TRICKS.build("instance_noise", {"sigma": 0.5, "schedule": "constant", "until": 10})
    x = torch.zeros(64, 1, 16, 16)
    assert reg.transform_input(x, _at(0, 100)).std().item() == pytest.approx(0.5, rel=0.02)
    assert reg.transform_input(x, _at(10, 100)) is x
    y = torch.zeros(8, 2, requires_grad=True)  # differentiable: G's gradient passes
    reg.transform_input(y, _at(0, 100)).sum().backward()
    assert torch.equal(y.grad, torch.ones(8, 2))


def test_bad_options():
    with pytest.raises(ConfigError, match="schedule"):
        TRICKS.build("instance_noise", {"schedule": "cosine"}, "regularizers[0]")
    with pytest.raises(ConfigError, match="until"):
        TRICKS.build("instance_noise", {"until": 0})
    with pytest.raises(ConfigError, match="until"):
        TRICKS.build("instance_noise", {"until": 1.5})
