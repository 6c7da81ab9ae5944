import pytest
import torch
from torch import nn

from gankit.config import load_config
from gankit.errors import ConfigError
from gankit.tricks.wrappers.pacgan import Packed
from gankit.tasks import build_task


class _Spy(nn.Module):
    def __init__(self):
        super().__init__()
        self.seen = None

    def forward(self, x):
        self.seen = x
        return x.flatten(1).sum(1)


def test_packs_consecutive_samples_along_channels():
    spy = _Spy()
    D = Packed(spy, 3)
    x = torch.arange(6 * 2 * 4 * 4, dtype=torch.float32).view(6, 2, 4, 4)
    out = D(x)
    assert spy.seen.shape == (2, 6, 4, 4) and out.shape == (2,)
    assert torch.equal(spy.seen[0], torch.cat([x[0], x[1], x[2]]))
    assert torch.equal(spy.seen[1], torch.cat([x[3], x[4], x[5]]))
    v = torch.randn(8, 2)
    D2 = Packed(spy, 2)
    D2(v)
    assert torch.equal(spy.seen, torch.stack([torch.cat([v[0], v[1]]), torch.cat([v[2], v[3]]),
                                              torch.cat([v[4], v[5]]), torch.cat([v[6], v[7]])]))  # fmt: skip


def test_wrap_rebuilds_d_for_the_packed_shape(tiny_recipe):
    cfg = load_config(tiny_recipe, ["regularizers=[{name: pacgan, pac: 4}]"])
    D = build_task(cfg, (1, 28, 28)).build()["D"]
    assert isinstance(D, Packed) and D.inner.net[0].in_channels == 4
    assert D(torch.randn(16, 1, 28, 28)).shape == (4,)


def test_vector_data(tmp_path):
    from gankit.config import validate

    cfg = validate({"data": {"name": "ring8"}, "model": {"generator": {"name": "mlp"}, "discriminator": {"name": "mlp", "hidden": 8}},
                    "regularizers": [{"name": "pacgan", "pac": 3}], "train": {"batch_size": 12}})  # fmt: skip
    D = build_task(cfg, (2,)).build()["D"]
    assert D.inner.net[1].in_features == 6 and D(torch.randn(12, 2)).shape == (4,)


def test_batch_size_must_be_a_multiple_of_pac(tiny_recipe):
    cfg = load_config(tiny_recipe, ["regularizers=[{name: pacgan, pac: 3}]"])  # batch 16
    with pytest.raises(ConfigError, match=r"train.batch_size \(16\).*pac \(3\)"):
        build_task(cfg, (1, 28, 28)).build()
    with pytest.raises(ConfigError, match="2, 3 or 4"):
        build_task(load_config(tiny_recipe, ["regularizers=[{name: pacgan, pac: 5}]"]), (1, 28, 28)).build()


def test_training_with_packed_d_logs_finite_numbers(tiny_recipe, tmp_path):
    import json
    import math

    from gankit.train.engine import train

    cfg = load_config(tiny_recipe, ["regularizers=[{name: pacgan, pac: 2}]", "train.max_steps=5", "log.log_every=5"])
    res = train(cfg, tmp_path / "run", hooks=[])
    recs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    rec = [r for r in recs if r["kind"] == "train"][-1]
    for key in ("d_loss", "g_loss", "acc_real", "acc_fake", "d_real", "d_fake"):
        assert math.isfinite(rec[key])
    assert res.step == 5
