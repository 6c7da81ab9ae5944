"""``log.mlflow``: a tiny run tracked into a file store in a temp folder, read back through MLflow's own client."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from gankit.config import load_config, validate
from gankit.errors import ConfigError
from gankit.train.engine import train
from gankit.train.eval_hook import default_hooks
from gankit.train.logger import read_metrics
from gankit.train.tracking import STATE_FILE, MlflowHook, flatten, resolve_tracking_uri

pytest.importorskip("mlflow", reason="the track extra (mlflow-skinny) is not installed: pip install 'gankit[track]'")
from mlflow.tracking import MlflowClient  # noqa: E402

EXPERIMENT = "gankit-test"


def _recipe(path: Path, idx: Path, store: Path, **log: object) -> Path:
    """tests/conftest.py's tiny recipe, tracked into ``store``."""
    recipe = {
        "name": "tiny",
        "data": {"name": "fashion-mnist", "root": str(idx)},
        "model": {"z_dim": 8, "generator": {"name": "dcgan", "base_channels": 4}, "discriminator": {"name": "dcgan", "base_channels": 4}},
        "train": {"batch_size": 16, "max_steps": 20},
        "log": {"log_every": 5, "eval_every": 10, "ckpt_every": 10, "progress": False, "grid_size": 16,
                "mlflow": {"tracking_uri": f"file:{store}", "experiment": EXPERIMENT}, **log},
        "eval": {"n_samples": 64, "n_reference": 64},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(recipe))
    return path


def _history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def _jsonl_series(run_dir: Path, kind: str) -> dict[str, list[tuple[int, float]]]:
    """metrics.jsonl as the hook sends it: ``kind/key`` -> [(step, value)] of the finite numbers."""
    out: dict[str, list[tuple[int, float]]] = {}
    for rec in read_metrics(run_dir, kind):
        for k, v in rec.items():
            if k not in ("kind", "step") and isinstance(v, (int, float)) and not isinstance(v, bool):
                out.setdefault(f"{kind}/{k}", []).append((rec["step"], float(v)))
    return out


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, tiny_idx):
    """One finished 20-step run and its store (shared: training is the slow part)."""
    root = tmp_path_factory.mktemp("mlflow")
    store = root / "store"
    cfg = load_config(_recipe(root / "tiny.yaml", tiny_idx, store))
    res = train(cfg, root / "run")
    uri = resolve_tracking_uri(f"file:{store}", root / "run")
    return cfg, res, MlflowClient(uri), uri


def test_run_params_metrics_and_artifacts_read_back(tracked, tmp_path):
    cfg, res, client, uri = tracked
    run_dir = res.run_dir
    state = json.loads((run_dir / STATE_FILE).read_text())
    assert state["tracking_uri"] == uri == (Path(uri[len("file://"):])).as_uri()
    exp = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.run_id for r in runs] == [state["run_id"]]
    run = client.get_run(state["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["gankit.status"] == "finished"
    assert run.data.tags["mlflow.runName"] == "tiny" and run.data.tags["gankit.step"] == "20"

    # params: the whole flattened recipe
    params = run.data.params
    assert params == flatten(cfg.model_dump(mode="json"))
    assert params["train.max_steps"] == "20" and params["model.z_dim"] == "8" and params["log.mlflow.experiment"] == EXPERIMENT
    assert json.loads(params["optim.g.betas"]) == list(cfg.optim["g"].betas)

    # metrics: every numeric series of metrics.jsonl, value for value at the same steps
    train_series = _jsonl_series(run_dir, "train")
    assert {"train/d_loss", "train/g_loss", "train/img_per_s", "train/lr_g"} <= set(train_series)
    assert [s for s, _ in train_series["train/d_loss"]] == [1, 5, 10, 15, 20]
    eval_series = _jsonl_series(run_dir, "eval")
    assert eval_series, "the tiny recipe evaluates FID at steps 10 and 20"
    expected = train_series | eval_series
    for key, series in expected.items():
        assert _history(client, run.info.run_id, key) == series, key
    assert set(run.data.metrics) == set(expected)  # nothing that is not in the file (warnings, strings, NaN)

    # artifacts: the grids, the final checkpoint folder byte for byte, the recipe
    grids = {f.path for f in client.list_artifacts(run.info.run_id, "samples")}
    assert grids == {"samples/step-000010.png", "samples/step-000020.png"}
    ck = run_dir / "checkpoints" / "step-000020"
    listed = {Path(f.path).name: f.file_size for f in client.list_artifacts(run.info.run_id, "checkpoints/step-000020")}
    assert listed == {p.name: p.stat().st_size for p in ck.iterdir() if p.is_file()}
    assert "G.safetensors" in listed and "state.json" in listed
    root = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "samples", "checkpoints"} <= root

    # the downloaded artifacts are a run folder gankit loads, with the same weights
    import mlflow.artifacts

    got = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path), tracking_uri=uri))
    assert _sha(got / "checkpoints/step-000020/G.safetensors") == _sha(ck / "G.safetensors")
    assert _sha(got / "samples/step-000020.png") == _sha(run_dir / "samples/step-000020.png")
    from gankit.inference import load

    assert load(got).step == 20


def test_resume_continues_the_same_mlflow_run(tiny_idx, tmp_path):
    """A resume from an older checkpoint re-does steps MLflow already has: no second run, no duplicated points."""
    store, run_dir = tmp_path / "store", tmp_path / "run"
    cfg = load_config(_recipe(tmp_path / "tiny.yaml", tiny_idx, store))
    train(cfg, run_dir)
    first = json.loads((run_dir / STATE_FILE).read_text())["run_id"]
    # as if killed after step 20 was logged but before its checkpoint landed
    shutil.rmtree(run_dir / "checkpoints" / "step-000020")
    longer = load_config(_recipe(tmp_path / "tiny.yaml", tiny_idx, store), ["train.max_steps=30"])
    res = train(longer, run_dir, resume_from=run_dir / "checkpoints" / "step-000010")
    assert res.step == 30

    client = MlflowClient(resolve_tracking_uri(f"file:{store}", run_dir))
    state = json.loads((run_dir / STATE_FILE).read_text())
    assert state["run_id"] == first
    exp = client.get_experiment_by_name(EXPERIMENT)
    assert [r.info.run_id for r in client.search_runs([exp.experiment_id])] == [first]
    run = client.get_run(first)
    assert run.info.status == "FINISHED" and run.data.tags["gankit.step"] == "30"
    assert run.data.tags["gankit.resumed_at.10"] == "10"
    assert run.data.params["train.max_steps"] == "20"  # params are immutable in MLflow: the change is a tag
    assert run.data.tags["gankit.param_changed.train.max_steps"] == "20 -> 30 (at step 10)"
    d_loss = _history(client, first, "train/d_loss")
    assert [s for s, _ in d_loss] == [1, 5, 10, 15, 20, 25, 30]  # 15 and 20 once, though trained twice
    assert d_loss == _jsonl_series(run_dir, "train")["train/d_loss"]  # exact resume: the re-done numbers agree
    grids = {f.path for f in client.list_artifacts(first, "samples")}
    assert grids == {f"samples/step-{s:06d}.png" for s in (10, 20, 30)}
    assert {Path(f.path).name for f in client.list_artifacts(first, "checkpoints")} == {"step-000020", "step-000030"}


def test_a_fresh_run_into_an_old_folder_is_a_new_mlflow_run(tiny_idx, tmp_path):
    """Not a resume: a second MLflow run that has only its own records, not the old ones still in metrics.jsonl."""
    store, run_dir = tmp_path / "store", tmp_path / "run"
    cfg = load_config(_recipe(tmp_path / "tiny.yaml", tiny_idx, store), ["train.max_steps=10"])
    train(cfg, run_dir)
    first = json.loads((run_dir / STATE_FILE).read_text())["run_id"]
    train(cfg, run_dir)
    second = json.loads((run_dir / STATE_FILE).read_text())["run_id"]
    assert second != first
    client = MlflowClient(resolve_tracking_uri(f"file:{store}", run_dir))
    recs = read_metrics(run_dir, "train")
    assert len(recs) == 6  # the file holds both runs' 3 records
    for rid, mine in ((first, recs[:3]), (second, recs[3:])):
        assert _history(client, rid, "train/img_per_s") == [(r["step"], r["img_per_s"]) for r in mine]


def test_sqlite_store(tiny_idx, tmp_path, monkeypatch):
    """MLflow's database store; mlflow-skinny lacks its SQLAlchemy/Alembic, which the full mlflow package brings."""
    pytest.importorskip("sqlalchemy", reason="a sqlite tracking store needs sqlalchemy and alembic (the full mlflow package)")
    pytest.importorskip("alembic", reason="a sqlite tracking store needs sqlalchemy and alembic (the full mlflow package)")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(_recipe(tmp_path / "tiny.yaml", tiny_idx, tmp_path), ["train.max_steps=10", "log.mlflow.tracking_uri=sqlite:///m.db"])
    res = train(cfg, tmp_path / "run")
    state = json.loads((res.run_dir / STATE_FILE).read_text())
    assert state["tracking_uri"] == f"sqlite:///{tmp_path}/m.db"
    client = MlflowClient(state["tracking_uri"])
    run = client.get_run(state["run_id"])
    assert run.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())
    assert _history(client, state["run_id"], "train/d_loss") == _jsonl_series(res.run_dir, "train")["train/d_loss"]
    assert "samples/step-000010.png" in {f.path for f in client.list_artifacts(state["run_id"], "samples")}


def test_a_failing_store_warns_and_training_finishes(tiny_idx, tmp_path, monkeypatch):
    from mlflow.exceptions import MlflowException

    def down(self, *a, **k):
        raise MlflowException("connection refused")

    cfg = load_config(_recipe(tmp_path / "tiny.yaml", tiny_idx, tmp_path / "store"), ["train.max_steps=10"])
    monkeypatch.setattr(MlflowClient, "log_batch", down)
    res = train(cfg, tmp_path / "run")
    assert res.status == "finished" and res.step == 10
    warnings = [r["message"] for r in read_metrics(res.run_dir, "warning") if "log.mlflow" in r["message"]]
    assert len(warnings) == 1 and "connection refused" in warnings[0] and "training goes on" in warnings[0]


def test_off_by_default_and_switches():
    base = {"train": {"max_steps": 1}}
    assert validate(base).log.mlflow is None
    assert not any(isinstance(h, MlflowHook) for h in default_hooks(validate(base)))
    on = validate(base | {"log": {"mlflow": True}})
    assert on.log.mlflow is not None and on.log.mlflow.tracking_uri is None and on.log.mlflow.checkpoint
    assert isinstance(default_hooks(on)[-1], MlflowHook)
    assert validate(base | {"log": {"mlflow": False}}).log.mlflow is None
    with pytest.raises(ConfigError, match=r"log\.mlflow\.trackinguri.*Did you mean 'tracking_uri'"):
        validate(base | {"log": {"mlflow": {"trackinguri": "x"}}})


def test_tracking_uri_resolution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs" / "a"
    assert resolve_tracking_uri(None, run) == f"file://{tmp_path}/runs/a/mlruns"
    assert resolve_tracking_uri("mlruns", run) == f"file://{tmp_path}/mlruns"
    assert resolve_tracking_uri("file:./mlruns", run) == f"file://{tmp_path}/mlruns"
    assert resolve_tracking_uri("file:///abs/store", run) == "file:///abs/store"
    assert resolve_tracking_uri("sqlite:///m.db", run) == f"sqlite:///{tmp_path}/m.db"
    for remote in ("http://127.0.0.1:5000", "sqlite:////abs/mlflow.db", "databricks"):
        assert resolve_tracking_uri(remote, run) == remote


def test_missing_package_is_a_clear_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    cfg = validate({"train": {"max_steps": 1}, "log": {"mlflow": {}}})
    with pytest.raises(ConfigError, match=r"pip install 'gankit\[track\]'"):
        default_hooks(cfg)


def test_flatten_keys_and_values():
    flat = flatten({"a": {"b": 1, "c": None, "d": [1, 2], "e": {}, "f": "text", "g": True}, "h:i": 0.5})
    assert flat == {"a.b": "1", "a.c": "null", "a.d": "[1, 2]", "a.e": "{}", "a.f": "text", "a.g": "true", "h_i": "0.5"}


def test_a_run_that_diverges_is_failed_in_mlflow_not_left_running(tmp_path, tiny_idx):
    """The engine tells the hooks of an error; the MLflow run ends FAILED with the error as a tag."""
    from gankit.errors import TrainingDiverged
    from gankit.objectives import LOSSES
    from gankit.objectives.losses.nonsaturating import NonSaturating

    class NaNAfter3(NonSaturating):
        calls = 0

        def g_loss(self, fake):  # noqa: ANN001, ANN202
            type(self).calls += 1
            return super().g_loss(fake) * (float("nan") if type(self).calls > 3 else 1.0)

    if "test_mlflow_nan" not in LOSSES.names():
        LOSSES.register("test_mlflow_nan")(NaNAfter3)
    store = tmp_path / "store"
    cfg = load_config(_recipe(tmp_path / "r.yaml", tiny_idx, store), ["loss.name=test_mlflow_nan"])
    with pytest.raises(TrainingDiverged):
        train(cfg, tmp_path / "run")
    client = MlflowClient(f"file:{store}")
    run_id = json.loads((tmp_path / "run" / STATE_FILE).read_text())["run_id"]
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["gankit.status"] == "failed" and "nan" in run.data.tags["gankit.error"].lower()
    assert _history(client, run_id, "train/g_loss")  # the numbers logged before the failure are there
