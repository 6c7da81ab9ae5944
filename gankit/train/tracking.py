"""MLflow experiment tracking (``log.mlflow``) as an engine hook.

What the run already records is mirrored, not recomputed: the numbers come from ``metrics.jsonl``
(read from where the hook last stopped), so the MLflow history equals the file's; the grids are the
run's ``samples/*.png``; the final checkpoint is the folder the engine just wrote. The MLflow run id
lives in the run folder (``mlflow.json``) so ``--resume`` continues the same MLflow run. Only rank 0
talks to MLflow. ``mlflow`` (``pip install gankit[track]``) is imported only when tracking is on.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from gankit.config import Config
from gankit.core.hooks import Hook, RunView
from gankit.errors import ConfigError
from gankit.utils.io import atomic_write_json

STATE_FILE = "mlflow.json"
#: ``metrics.jsonl`` record kinds sent as metrics, named ``<kind>/<key>`` as in TensorBoard.
KINDS = ("train", "eval")
MAX_PARAM_VALUE = 6000  # MLflow's limit on a param value (it truncates longer ones itself)
MAX_TAG_VALUE = 5000
_STATUS = {"finished": "FINISHED", "time_budget": "FINISHED", "interrupted": "KILLED", "failed": "FAILED"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def resolve_tracking_uri(uri: str | None, run_dir: Path) -> str:
    """None: a file store in the run folder; a bare or ``file:`` path, or a relative sqlite file: absolute
    (a resume from another directory must find the same store); anything else (http, databricks): unchanged."""
    if uri is None:
        return (Path(run_dir) / "mlruns").resolve().as_uri()
    if uri.startswith("file:"):
        rest = uri[len("file:"):]
        if rest.startswith("//"):  # file:///abs or file://host/...: already a URI
            return uri
        return Path(rest).expanduser().resolve().as_uri()
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////") and ":memory:" not in uri:
        return "sqlite:///" + str(Path(uri[len("sqlite:///"):]).expanduser().resolve())  # relative -> absolute
    if uri in ("databricks", "databricks-uc"):  # MLflow's names for a configured workspace
        return uri
    if not _SCHEME.match(uri) or re.match(r"^[A-Za-z]:[\\/]", uri):  # a plain path (or a Windows drive)
        return Path(uri).expanduser().resolve().as_uri()
    return uri


def flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    """The recipe as MLflow params: dotted keys, scalars as YAML-like text, lists as JSON."""
    out: dict[str, str] = {}
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            out |= flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    text = obj if isinstance(obj, str) else json.dumps(obj)
    out[_key(prefix)] = text[:MAX_PARAM_VALUE]
    return out


def _key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / `` and space; anything else becomes ``_``."""
    return re.sub(r"[^\w\-./ ]", "_", name)[:250] or "_"


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


class MlflowHook(Hook):
    """Params at the start, metrics and new grids at every log step, the final checkpoint at the end."""

    def __init__(self, cfg: Config) -> None:
        if cfg.log.mlflow is None:
            raise ConfigError("MlflowHook needs log.mlflow set in the recipe.")
        if importlib.util.find_spec("mlflow") is None:
            raise ConfigError(
                "log.mlflow is set but the mlflow package is not installed: pip install 'gankit[track]' "
                "(or remove log.mlflow from the recipe)."
            )
        self.cfg, self.mc = cfg, cfg.log.mlflow
        self.client: Any = None
        self.run_id: str | None = None
        self.uri: str | None = None
        self._state: dict[str, Any] = {}
        self._offset = 0  # bytes of metrics.jsonl already read
        self._warned = False

    # ------------------------------------------------------------------ hook methods

    def on_start(self, run: RunView) -> None:
        if not run.is_main:
            return
        self.uri = resolve_tracking_uri(self.mc.tracking_uri, run.run_dir)
        if self.uri.startswith("file:"):
            # MLflow 3 refuses its file store unless asked; it is the no-server default here.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            self.client = MlflowClient(self.uri)
            self._open_run(run)
        except MlflowException as e:
            raise ConfigError(f"log.mlflow: cannot use the tracking store {self.uri}: {_first_line(e)}") from None
        metrics = run.run_dir / "metrics.jsonl"
        # A fresh run into an old folder skips the old records; a resume re-reads its (truncated) file
        # and skips what MLflow already has by step.
        self._offset = 0 if run.step > 0 or not metrics.exists() else metrics.stat().st_size
        print(f"mlflow: run {self.run_id} in {self.uri}", file=sys.stderr)
        self._guard(run, lambda: self._log_params(run))
        self._guard(run, lambda: self._upload(run, run.run_dir / "config.yaml", None, always=True))
        self._sync(run)

    def on_log(self, run: RunView, step: int, values: dict[str, float]) -> None:
        if run.is_main and self.client is not None:
            self._sync(run)

    def on_end(self, run: RunView, status: str) -> None:
        if not run.is_main or self.client is None:
            return
        self._sync(run)  # the final evaluation's numbers and grid
        rd = run.run_dir
        for extra in (rd / "classes.json", rd / "fid.png"):
            if extra.is_file():
                self._guard(run, lambda p=extra: self._upload(run, p, None, always=True))
        if self.mc.checkpoint:
            from gankit.train.checkpoint import list_checkpoints

            found = list_checkpoints(rd / "checkpoints")
            if found:
                final = found[-1]
                self._guard(run, lambda: self.client.log_artifacts(self.run_id, str(final), f"checkpoints/{final.name}"))
        self._guard(run, lambda: self._finish(status, run.step))

    def on_error(self, run: RunView, message: str) -> None:
        """A run that stopped on an error is FAILED in MLflow (not left RUNNING), its numbers so far synced."""
        if not run.is_main or self.client is None:
            return
        self._sync(run)
        self._guard(run, lambda: self.client.set_tag(self.run_id, "gankit.error", message[:5000]))
        self._guard(run, lambda: self._finish("failed", run.step))

    # ------------------------------------------------------------------ the MLflow run

    def _open_run(self, run: RunView) -> None:
        """Continue the run id stored in the run folder on a resume, else start one in the experiment."""
        from mlflow.exceptions import MlflowException

        path = run.run_dir / STATE_FILE
        saved: dict[str, Any] = {}
        if path.is_file():
            try:
                saved = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                saved = {}
        if run.step > 0 and saved.get("run_id") and saved.get("tracking_uri") == self.uri:
            try:
                self.client.get_run(saved["run_id"])
                self.run_id, self._state = saved["run_id"], saved
                self.client.update_run(self.run_id, status="RUNNING")
                self.client.set_tag(self.run_id, f"gankit.resumed_at.{run.step}", str(run.step))
                return
            except MlflowException as e:
                run.warn(f"log.mlflow: the run {saved['run_id']} in {run.run_dir / STATE_FILE} is not in {self.uri} "
                         f"({_first_line(e)}); starting a new MLflow run")  # fmt: skip
        elif run.step > 0 and saved.get("run_id"):
            run.warn(f"log.mlflow: the tracking store changed ({saved.get('tracking_uri')} -> {self.uri}); starting a new MLflow run there")
        name = self.mc.experiment or self.cfg.name
        exp = self.client.get_experiment_by_name(name)
        if exp is None:
            exp_id = self.client.create_experiment(name, artifact_location=_artifact_root(self.uri))
        elif exp.lifecycle_stage != "active":
            raise ConfigError(f"log.mlflow.experiment: '{name}' is deleted in {self.uri}; restore it or choose another name.")
        else:
            exp_id = exp.experiment_id
        tags = {"mlflow.runName": self.cfg.name, "gankit.task": self.cfg.task.name, "gankit.run_dir": str(Path(run.run_dir).resolve())}
        r = self.client.create_run(exp_id, tags=tags)
        self.run_id = r.info.run_id
        self._state = {"tracking_uri": self.uri, "experiment_id": exp_id, "run_id": self.run_id, "synced": {}, "artifacts": []}
        self._save_state(run)

    def _log_params(self, run: RunView) -> None:
        """The flattened recipe; on a resume, keys whose value changed (budgets) are noted as tags (params are immutable)."""
        from mlflow.entities import Param, RunTag

        params = flatten(self.cfg.model_dump(mode="json"))
        have = self.client.get_run(self.run_id).data.params
        new = [Param(k, v) for k, v in params.items() if k not in have]
        changed = [RunTag(f"gankit.param_changed.{k}", f"{have[k]} -> {v} (at step {run.step})"[:MAX_TAG_VALUE])
                   for k, v in params.items() if k in have and have[k] != v]  # fmt: skip
        if new or changed:
            self.client.log_batch(self.run_id, params=new, tags=changed)

    def _finish(self, status: str, step: int) -> None:
        self.client.set_tag(self.run_id, "gankit.status", status)
        self.client.set_tag(self.run_id, "gankit.step", str(step))
        self.client.set_terminated(self.run_id, status=_STATUS.get(status, "FINISHED"))

    # ------------------------------------------------------------------ mirroring the run folder

    def _sync(self, run: RunView) -> None:
        """New ``metrics.jsonl`` records (numbers only) and grids; nothing advances unless MLflow took it."""
        self._guard(run, lambda: self._sync_metrics(run))
        samples = run.run_dir / "samples"
        if samples.is_dir():
            for png in sorted(samples.glob("step-*.png")):
                self._guard(run, lambda p=png: self._upload(run, p, "samples"))

    def _sync_metrics(self, run: RunView) -> None:
        from mlflow.entities import Metric

        path = run.run_dir / "metrics.jsonl"
        if not path.exists():
            return
        with open(path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next sync
        synced: dict[str, int] = self._state.setdefault("synced", {})
        batch, last = [], dict(synced)
        now = int(time.time() * 1000)
        for line in data[:end].splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind, step = rec.get("kind"), rec.get("step")
            if kind not in KINDS or not isinstance(step, int) or step <= synced.get(kind, -1):
                continue  # a resume re-does steps MLflow already has (exact resume: the same numbers)
            for k, v in rec.items():
                x = _number(v) if k not in ("kind", "step") else None
                if x is not None:
                    batch.append(Metric(_key(f"{kind}/{k}"), x, now, step))
            last[kind] = max(step, last.get(kind, -1))
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)
        self._offset += end
        if last != synced:
            self._state["synced"] = last
            self._save_state(run)

    def _upload(self, run: RunView, path: Path, folder: str | None, always: bool = False) -> None:
        rel = f"{folder}/{path.name}" if folder else path.name
        done = self._state.setdefault("artifacts", [])
        if not path.is_file() or (rel in done and not always):
            return
        self.client.log_artifact(self.run_id, str(path), folder)
        if rel not in done:
            done.append(rel)
            self._save_state(run)

    def _save_state(self, run: RunView) -> None:
        atomic_write_json(run.run_dir / STATE_FILE, self._state)

    def _guard(self, run: RunView, fn: Any) -> None:
        """A tracking server that fails mid-run must not stop training: warn once, retry at the next sync."""
        from mlflow.exceptions import MlflowException

        try:
            fn()
        except (MlflowException, OSError) as e:  # OSError covers connection errors
            if not self._warned:
                self._warned = True
                run.warn(f"log.mlflow: logging to {self.uri} failed ({_first_line(e)}); training goes on, "
                         "metrics.jsonl keeps every number and the next log step retries")  # fmt: skip


def _artifact_root(uri: str) -> str | None:
    """A sqlite store keeps its artifacts beside the database (MLflow's default is ./mlruns of the current
    directory); every other store decides for itself."""
    if uri.startswith("sqlite:////"):
        return (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").as_uri()
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
