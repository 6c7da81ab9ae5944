import pytest
import torch

from gankit.core.clock import Clock
from gankit.core.objective import Targets as CoreTargets
from gankit.errors import ConfigError
from gankit.tricks import TRICKS, Targets


def _clock(step):
    return Clock(step, step / 100, 100)


def _targets(n=20000):
    return Targets(torch.ones(n), torch.zeros(n))


def test_targets_is_the_core_objective_type():
    assert Targets is CoreTargets


def test_one_sided_is_exactly_09_on_reals_and_0_on_fakes():
    t = TRICKS.build("one_sided_label_smoothing", {}).targets(_targets(100), _clock(0))
    assert torch.equal(t.real, torch.full((100,), 0.9))
    assert torch.equal(t.fake, torch.zeros(100))
    t = TRICKS.build("one_sided_label_smoothing", {"real": 0.8}).targets(_targets(10), _clock(0))
    assert torch.equal(t.real, torch.full((10,), 0.8))


def test_two_sided_ranges_and_per_sample_draws():
    torch.manual_seed(0)
    reg = TRICKS.build("two_sided_label_smoothing", {"real_low": 0.8, "real_high": 1.0, "fake_low": 0.0, "fake_high": 0.2})
    t = reg.targets(_targets(), _clock(0))
    assert t.real.min() >= 0.8 and t.real.max() <= 1.0 and t.fake.min() >= 0.0 and t.fake.max() <= 0.2
    assert t.real.mean().item() == pytest.approx(0.9, abs=0.005) and t.fake.mean().item() == pytest.approx(0.1, abs=0.005)
    assert t.real.unique().numel() > 1000  # per sample, not one value for the batch
    t2 = reg.targets(_targets(), _clock(1))
    assert not torch.equal(t.real, t2.real)  # redrawn each batch


def test_flip_proportion_and_swap():
    torch.manual_seed(0)
    t = TRICKS.build("label_flip", {"p": 0.1}).targets(_targets(), _clock(0))
    assert set(t.real.unique().tolist()) == {0.0, 1.0} and set(t.fake.unique().tolist()) == {0.0, 1.0}
    assert (t.real == 0).float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert (t.fake == 1).float().mean().item() == pytest.approx(0.1, abs=0.01)
    # the two sides flip independently
    assert not torch.equal(t.real == 0, t.fake == 1)


def test_smoothing_then_flipping_composes():
    torch.manual_seed(1)
    smooth = TRICKS.build("one_sided_label_smoothing", {})
    flip = TRICKS.build("label_flip", {"p": 0.2})
    a = flip.targets(smooth.targets(_targets(), _clock(0)), _clock(0))
    assert set(a.real.unique().tolist()) == pytest.approx([0.0, 0.9]) and set(a.fake.unique().tolist()) == pytest.approx([0.0, 0.9])
    b = smooth.targets(flip.targets(_targets(), _clock(0)), _clock(0))  # the other order: flipped fakes get 0.9, not 1
    assert b.fake.max().item() == pytest.approx(0.9) and b.real.max().item() == pytest.approx(0.9)


def test_losses_without_targets_are_refused(tiny_recipe):
    from gankit.config import load_config
    from gankit.tasks import build_task

    cfg = load_config(tiny_recipe, ["loss.name=hinge"])
    cfg.regularizers = [type(cfg.loss)(name="label_flip")]
    with pytest.raises(ConfigError, match="label_flip.*hinge"):
        build_task(cfg, (1, 28, 28)).build()


def test_bad_options():
    with pytest.raises(ConfigError, match="real_low"):
        TRICKS.build("two_sided_label_smoothing", {"real_low": 1.0, "real_high": 0.9})
    with pytest.raises(ConfigError, match="label_flip.p"):
        TRICKS.build("label_flip", {"p": 0.9})
