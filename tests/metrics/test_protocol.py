import json

import pytest

from gankit.metrics.protocol import EvalReport, MetricResult, Protocol


def make_report():
    p = Protocol("fmnist", "0123456789abcdef", 10000, 10000, "fashion-mnist:test", "none", 0, (1, 28, 28))
    r = EvalReport()
    r.add(MetricResult("fid", 3.25, p))
    r.add(MetricResult("kid", 0.0012, p, std=0.0003, details={"subset_size": 1000}))
    r.add(MetricResult("coverage.reverse_kl", None, p.replace(extractor="none", extractor_hash=None, image_shape=None)))
    r.add(MetricResult("x", float("nan"), p))
    return r


def test_json_keeps_none_as_null_and_carries_protocols(tmp_path):
    r = make_report()
    d = json.loads(r.to_json(tmp_path / "r.json"))
    assert d == json.loads((tmp_path / "r.json").read_text())
    by = {m["name"]: m for m in d["metrics"]}
    assert by["coverage.reverse_kl"]["value"] is None and by["x"]["value"] is None
    assert by["fid"]["protocol"] == {
        "extractor": "fmnist", "extractor_hash": "0123456789abcdef", "n_generated": 10000, "n_reference": 10000,
        "reference": "fashion-mnist:test", "resize": "none", "seed": 0, "image_shape": [1, 28, 28],
        "held_out": None, "n_held_out": None, "n_generated_per_class": None, "n_reference_per_class": None,
    }  # fmt: skip
    assert by["kid"]["std"] == 0.0003 and by["kid"]["details"] == {"subset_size": 1000}
    assert "N/A" not in r.to_json()


def test_table_lists_every_metric_with_protocol():
    table = make_report().format_table()
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["metric", "value", "extractor"]
    assert "3.2500" in table and "fashion-mnist:test" in table and "01234567" in table
    assert any(line.startswith("coverage.reverse_kl") and "—" in line for line in lines)  # None, shown as a dash
    assert "N/A" not in table


def test_value_lookup():
    r = make_report()
    assert r.value("fid") == 3.25
    with pytest.raises(KeyError, match="fid"):
        r.value("nope")


def test_per_class_counts_in_json_and_table():
    p = Protocol("fmnist", "0123456789abcdef", 60000, 9000, "fashion-mnist:test", "none", 0, (1, 28, 28),
                 n_generated_per_class=(6000,) * 10, n_reference_per_class=(1000,) * 9 + (0,))  # fmt: skip
    r = EvalReport()
    r.add(MetricResult("intra_fid", 4.5, p))
    r.add(MetricResult("cas", 0.8, p.replace(n_reference_per_class=(800,) + (1000,) * 9)))
    d = json.loads(r.to_json())["metrics"][0]["protocol"]
    assert d["n_generated_per_class"] == [6000] * 10 and d["n_reference_per_class"] == [1000] * 9 + [0]
    table = r.format_table()
    assert "60000 (6000/class)" in table and "9000 (1000/class)" in table  # a class without images is left out
    assert "9000 (800-1000/class)" in table
