"""The typed recipe schema.

A recipe (YAML in ``configs/``) holds only what differs from the defaults here. Unknown keys,
wrong types and bad values are reported with their dotted path and what is allowed; the CLI
prints the message without a traceback.
"""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from gankit.errors import ConfigError
from gankit.utils.recipe_yaml import load_yaml, yaml_problem
from gankit.core.registry import closest


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    """Where the training images (or 2D points) come from."""

    name: str = "fashion-mnist"  # a registered data source (`gankit.data.SOURCES`), checked when the run is built
    root: str | None = None  # IDX folder, image folder; None = the gankit data cache
    split: Literal["train", "test"] = "train"
    image_size: int = Field(28, ge=4, le=1024)
    channels: Literal[1, 3] = 1
    crop: Literal["center", "random"] = "center"
    skip_bad_files: bool = False
    max_pixels: int = Field(40_000_000, ge=1)  # image folders: larger images are refused from their header (decompression bombs)
    num_workers: int = Field(2, ge=0)
    n_points: int = Field(100_000, ge=1)  # size of a synthetic 2D set
    limit: int | None = Field(None, ge=1)  # use only the first N items (tiny runs, tests)
    # Labels (class-conditional tasks; unconditional ones ignore them). Class ids are the data's own
    # (Fashion-MNIST 0..9, a folder's sorted subfolders); the spec checks they exist.
    classes: list[int] | None = None  # keep only these classes; labels become 0..k-1 in this order
    per_class_limit: dict[int, int] | None = None  # original class id -> at most N training items (first N in file order)
    balance: bool = False  # class-balanced sampling: each epoch draws every class equally often
    # Image-to-image translation (aligned / unaligned / single, fmnist-*): the CycleGAN/pix2pix repo's
    # options (docs/data.md); image_size is the repo's crop_size.
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # BtoA swaps the roles: Batch.a is then domain B
    preprocess: Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"] = "resize_and_crop"
    load_size: int | None = Field(None, ge=4, le=4096)  # resize before the crop; None = image_size (no crop jitter)
    no_flip: bool = False  # no random horizontal flip (a pair's A and B are always flipped together)
    channels_a: Literal[1, 3] | None = None  # channels of Batch.a / Batch.b (after direction, the repo's
    channels_b: Literal[1, 3] | None = None  # input_nc / output_nc); None: 3 for folders, 1 for fmnist-*
    # Restoration (docs/data.md): super-resolution inputs and inpainting holes.
    scale: Literal[2, 3, 4] | None = None  # SR upscaling factor of sr_folder / skimage-photos (None: 4 for photos);
    # fmnist-sr2x / fmnist-sr4x fix theirs and refuse another
    degradation: Literal["mixed", "pil", "opencv", "torch"] = "mixed"  # bicubic implementation making SR inputs;
    # mixed: each training item's seed picks one, evaluation rotates through the three
    mask: Literal["box", "stroke", "mixed"] = "mixed"  # fmnist-inpaint holes; mixed: box / strokes alternately

    @pydantic.field_validator("name")
    @classmethod
    def _registered(cls, v: str) -> str:
        return _check_name(v, "data source", "gankit.data.base", "SOURCES")

    @pydantic.field_validator("classes")
    @classmethod
    def _classes(cls, v: list[int] | None) -> list[int] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("an empty list keeps no class; list class ids (e.g. [7, 2]) or leave it null for all classes")
        if any(c < 0 for c in v):
            raise ValueError(f"class ids are >= 0, got {min(v)}")
        twice = sorted({c for c in v if v.count(c) > 1})
        if twice:
            raise ValueError(
                f"lists class {twice[0]} more than once; each class once (labels become 0..k-1 in the listed order)"
            )
        return v

    @pydantic.field_validator("per_class_limit")
    @classmethod
    def _per_class_limit(cls, v: dict[int, int] | None) -> dict[int, int] | None:
        for c, n in (v or {}).items():
            if c < 0:
                raise ValueError(f"keys are class ids >= 0, got {c}")
            if n < 0:
                raise ValueError(f"class {c}: a limit is a number of training items >= 0, got {n}")
        return v

    @pydantic.model_validator(mode="after")
    def _limits_within_classes(self) -> "DataConfig":
        if self.classes is not None and self.per_class_limit:
            out = [c for c in self.per_class_limit if c not in self.classes]
            if out:
                raise ValueError(
                    f"data.per_class_limit names class {out[0]}, which data.classes {self.classes} leaves out "
                    "(its keys are original class ids, as in data.classes)"
                )
        return self


def _check_name(value: str, kind: str, module: str, registry: str) -> str:
    """A name a registry must know; the error lists the valid ones and the closest."""
    import importlib

    names = getattr(importlib.import_module(module), registry).names()
    if value not in names:
        near = closest(value, names)
        hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        raise ValueError(f"unknown {kind} {value!r}.{hint} Valid: {', '.join(names)}")
    return value


class ComponentConfig(BaseModel):
    """``name`` picks a registered component; every other key is passed to it as an option."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelConfig(_Strict):
    z_dim: int = Field(100, ge=1)
    generator: ComponentConfig = ComponentConfig(name="dcgan")
    discriminator: ComponentConfig = ComponentConfig(name="dcgan")


class OptimizerConfig(_Strict):
    name: str = "adam"  # a registered optimizer (`gankit.train.optimizers.OPTIMIZERS`)
    lr: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.0, ge=0)
    # auto: fused kernels where the optimizer has them (adam, adamw, sgd; 5x faster steps on CPU), else torch's choice
    implementation: Literal["auto", "fused", "foreach", "for_loop"] = "auto"


#: Optimizers every recipe has unless it says otherwise; a task may ask for more names (``d_a``).
DEFAULT_OPTIMIZERS = ("g", "d")


class OptimConfig(pydantic.RootModel[dict[str, OptimizerConfig]]):
    """Optimizers by name (``optim.g``, ``optim.d``, ``optim.d_a`` ...): read as ``cfg.optim.g`` or ``cfg.optim["g"]``.

    Entries a recipe leaves out keep their defaults: ``optim: {d: {lr: 1e-4}}`` changes D's alone.
    """

    root: dict[str, OptimizerConfig] = Field(default_factory=lambda: {k: OptimizerConfig() for k in DEFAULT_OPTIMIZERS})

    @pydantic.model_validator(mode="before")
    @classmethod
    def _with_defaults(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {**{k: {} for k in DEFAULT_OPTIMIZERS}, **{k: ({} if x is None else x) for k, x in v.items()}}
        return v

    def __getattr__(self, name: str) -> OptimizerConfig:
        root = self.__dict__.get("root") or {}
        if name in root:
            return root[name]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> OptimizerConfig:
        return self.root[name]

    def __contains__(self, name: object) -> bool:
        return name in self.root

    def names(self) -> list[str]:
        return list(self.root)


class TrainConfig(_Strict):
    batch_size: int = Field(64, ge=1)
    max_steps: int | None = Field(5000, ge=1)  # steps (one G step each); None: the time budget alone
    max_minutes: float | None = Field(None, gt=0)  # wall-clock budget; stops with a checkpoint
    n_critic: int | None = Field(None, ge=1)  # D steps per G step; None = the loss's default
    lr_decay: Literal["none", "linear"] = "none"
    lr_decay_start: int | float | str = 0  # a step, or a fraction of the budget (0.5, "50%"); decays to 0 at its end
    grad_clip: float | None = Field(None, gt=0)  # max global grad norm for G and D
    precision: Literal["32", "bf16-mixed", "16-mixed", "auto"] = "32"  # auto: bf16-mixed on native-bf16 hardware (train/precision.py)
    accelerator: Literal["auto", "cpu", "cuda"] = "auto"
    devices: int = Field(1, ge=1)
    strategy: Literal["auto", "ddp"] = "auto"

    @pydantic.field_validator("precision", mode="before")
    @classmethod
    def _precision_as_text(cls, v: Any) -> Any:
        # `precision: 32` in YAML (or --set train.precision=32) is a number; the engine's name is "32".
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class MlflowConfig(_Strict):
    """MLflow tracking (``pip install gankit[track]``): params, metrics, grids, final checkpoint (docs/tracking.md)."""

    tracking_uri: str | None = None  # None: a file store inside the run folder, file:<run>/mlruns
    experiment: str | None = Field(None, min_length=1)  # None: the recipe's name
    checkpoint: bool = True  # upload the final checkpoint folder as artifacts


class LogConfig(_Strict):
    log_every: int = Field(50, ge=1)
    eval_every: int = Field(500, ge=1)
    ckpt_every: int = Field(1000, ge=1)
    keep_last: int = Field(3, ge=1)
    grid_size: int = Field(64, ge=1)
    tensorboard: bool = True
    progress: bool = True
    mlflow: MlflowConfig | None = None  # off by default; `log.mlflow: {}` (or true) turns it on with the defaults

    @pydantic.field_validator("mlflow", mode="before")
    @classmethod
    def _mlflow_switch(cls, v: Any) -> Any:
        return {} if v is True else None if v is False else v


class EvalConfig(_Strict):
    """FID during training, every ``log.eval_every`` steps; the best checkpoint by FID is kept."""

    fid: Literal["auto", "on", "off"] = "auto"  # auto: on where an extractor fits the data
    n_samples: int = Field(5000, ge=2)
    extractor: Literal["auto", "fmnist", "inception"] = "auto"
    reference: str | None = None  # None: the training set's held-out split (fashion-mnist:test)
    n_reference: int = Field(10000, ge=2)
    inception_weights: str | None = None
    keep_best: bool = True
    #: Which split picks the best checkpoint: ``val`` (held out of the training data), ``test``, ``off``.
    select_on: Literal["val", "test", "off"] = "val"


class MonitorConfig(_Strict):
    """Training diagnostics: health rules over logged numbers (each warns once), diversity at eval steps."""

    enabled: bool = True
    window: int = Field(10, ge=2)  # log records per sliding window
    warmup_steps: int = Field(0, ge=0)  # no rule but NaN fires before this step
    collapse_warmup: int = Field(1000, ge=0)  # absolute mode-collapse criteria wait this many steps
    diversity: bool = True  # diversity_ratio / class_kl at eval steps
    n_samples: int = Field(256, ge=2)  # fixed generated and real batch size
    features: Literal["auto", "fmnist", "pixels"] = "auto"


class Config(_Strict):
    name: str = "run"
    description: str = ""
    seed: int = Field(0, ge=0, le=2**32 - 1)  # what numpy and every torch generator accept
    #: A registered task (`gankit.tasks.TASKS`): which networks and phases the engine runs. Written
    #: ``task: cgan`` or, with options, ``task: {name: cgan, aux_weight: 1.0}``.
    task: ComponentConfig = ComponentConfig(name="gan")

    @pydantic.field_validator("task", mode="before")
    @classmethod
    def _task_registered(cls, v: Any) -> Any:
        v = {"name": v} if isinstance(v, str) else v
        if isinstance(v, dict) and isinstance(v.get("name"), str):
            _check_name(v["name"], "task", "gankit.tasks", "TASKS")
        return v
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: ComponentConfig = ComponentConfig(name="nonsaturating")
    regularizers: list[ComponentConfig] = []
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = TrainConfig()
    log: LogConfig = LogConfig()
    eval: EvalConfig = EvalConfig()
    monitor: MonitorConfig = MonitorConfig()

    @pydantic.model_validator(mode="after")
    def _has_budget(self) -> "Config":
        if self.train.max_steps is None and self.train.max_minutes is None:
            raise ValueError("train: a run needs a budget: set train.max_steps, train.max_minutes, or both")
        from gankit.core.clock import parse_point

        try:
            parse_point(self.train.lr_decay_start, "train.lr_decay_start")
        except Exception as e:  # noqa: BLE001 - re-raised as a validation error with its message
            raise ValueError(str(e)) from None
        return self


# --------------------------------------------------------------------------- loading


def _valid_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    model: Any = Config
    parts = list(path)
    while parts:
        part = parts.pop(0)
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        ann = field.annotation
        if typing.get_origin(ann) in (typing.Union, types.UnionType):  # `X | None`: the section's model
            ann = next((a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)), ann)
        if isinstance(ann, type) and issubclass(ann, pydantic.RootModel):  # optim.<name>: one more element names the entry
            ann = typing.get_args(ann.model_fields["root"].annotation)[1]
            if not parts:
                return None
            parts.pop(0)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return None
    return model


def _format_error(err: dict[str, Any]) -> str:
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
    path = ".".join(str(x) for x in loc) or "<root>"
    if err["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = _valid_keys(parent) if parent else []
        key = str(loc[-1])
        near = closest(key, valid)
        hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        return f"unknown key '{path}'.{hint} Valid keys here: {', '.join(valid)}."
    if err["type"] == "missing":
        return f"'{path}' is required."
    if err["type"] == "value_error":  # our own checks: the message says what is allowed
        msg = str(err["msg"]).removeprefix("Value error, ")
        return msg if not loc else f"'{path}': {msg}."
    return f"'{path}': {err['msg']} (got {err.get('input')!r})."


def validate(raw: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(raw)
    except pydantic.ValidationError as e:
        lines = [_format_error(err) for err in e.errors()]
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines)) from None


def _parse_value(text: str) -> Any:
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides; values are parsed as YAML (``1e-4``, ``[0.5, 0.9]``, ``true``)."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, for example train.batch_size=128.")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node = raw
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if isinstance(nxt, str) and node is raw and part == "task":  # `task: cgan` given options
                nxt = node[part] = {"name": nxt}
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {key}: '{part}' is a value, not a section.")
            node = nxt
        node[parts[-1]] = _parse_value(value)
    return raw


def load_raw(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}. List the shipped recipes with `gankit recipes`.")
    try:
        raw = load_yaml(p.read_bytes().decode("utf-8")) or {}
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not a text file (byte {e.start} is not UTF-8); a recipe is YAML text.") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: {yaml_problem(e)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: a recipe must be a mapping of sections (data, model, loss, ...).")
    raw.setdefault("name", p.stem)
    return raw


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    try:
        return validate(apply_overrides(load_raw(path), overrides or []))
    except ConfigError as e:
        msg = str(e)
        raise ConfigError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def to_yaml(cfg: Config) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
