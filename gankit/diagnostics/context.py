"""What the rules know about the recipe: :class:`RuleContext`, the loss's profile and the data's modes.

The loss-aware thresholds come from the loss itself (its ``profile`` class attribute, a
:class:`~gankit.core.objective.LossProfile`); the mode count of a 2D mixture from
:mod:`gankit.data.toy2d`. Both are looked up lazily, so building a context imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gankit.core.objective import NEUTRAL_PROFILE, LossProfile


def _loss_class(name: str) -> Any:
    """The registered class of loss ``name``, or None where it is unknown (or no registry imports)."""
    try:
        from gankit.objectives import LOSSES
    except ImportError:
        try:
            from gankit.losses import LOSSES
        except ImportError:
            return None
    return LOSSES.get(name) if name in LOSSES.names() else None


def _neutral_profile(name: str) -> LossProfile:
    """Loss-level criteria off; a name that says it is a critic gets the critic family."""
    if "wgan" in name or "critic" in name:
        return LossProfile("critic", NEUTRAL_PROFILE.d_scale, NEUTRAL_PROFILE.g_scale, None, None)
    return NEUTRAL_PROFILE


def loss_profile(name: str) -> LossProfile:
    """The ``profile`` of registered loss ``name``. An unknown loss, or one that sets no profile of its
    own (it inherits ``NEUTRAL_PROFILE``), gets a neutral one: loss-level criteria off."""
    profile = getattr(_loss_class(name), "profile", None)
    if not isinstance(profile, LossProfile) or profile is NEUTRAL_PROFILE:
        return _neutral_profile(name)
    return profile


def mixture_modes(data: str) -> int | None:
    """The number of modes of 2D mixture ``data`` (``ring8``: 8), None for any other dataset."""
    from gankit.data.toy2d import mode_count

    return mode_count(data)


def _field(node: Any, key: str) -> Any:
    """``node[key]`` of a mapping or ``node.key`` of an object; None where missing."""
    if node is None:
        return None
    if isinstance(node, Mapping):
        return node.get(key)
    return getattr(node, key, None)


def _opt(cfg: Any, name: str) -> Any:
    """The optimizer section ``optim.<name>`` (``cfg.optim.g`` or ``cfg.optim["g"]``); None if absent."""
    return _field(_field(cfg, "optim"), name)


@dataclass(frozen=True)
class RuleContext:
    """What the remedies and loss-aware thresholds need to know about the recipe."""

    loss: str = "nonsaturating"
    regularizers: tuple[str, ...] = ()
    d_options: Mapping[str, Any] = field(default_factory=dict)
    g_options: Mapping[str, Any] = field(default_factory=dict)
    g_name: str | None = None  # model.generator.name: which ``cond`` values it offers
    aux_weight: float | None = None  # task.aux_weight of a class-conditional recipe, where set
    task_options: Mapping[str, Any] = field(default_factory=dict)  # the recipe's task options (pl_weight, ...)
    lr_g: float | None = None
    lr_d: float | None = None
    n_critic: int | None = None
    data: str = "fashion-mnist"
    data_limit: int | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    grad_clip: float | None = None
    precision: str = "32"

    @classmethod
    def from_config(cls, cfg: Any) -> RuleContext:
        """From a :class:`gankit.config.Config` or its JSON dict (a run's ``config.yaml``)."""
        raw = cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else dict(cfg or {})

        def get(*path: str, default: Any = None) -> Any:
            node: Any = raw
            for p in path:
                if not isinstance(node, Mapping) or p not in node:
                    return default
                node = node[p]
            return node

        regs = tuple(str(r.get("name")) for r in (get("regularizers", default=[]) or []) if isinstance(r, Mapping))
        d_raw = get("model", "discriminator", default={}) or {}
        g_raw = get("model", "generator", default={}) or {}
        task = get("task")
        task = task if isinstance(task, Mapping) else {}  # ``task: cgan`` has no options
        return cls(
            loss=str(get("loss", "name", default="nonsaturating")),
            regularizers=regs,
            d_options={k: v for k, v in d_raw.items() if k != "name"},
            g_options={k: v for k, v in g_raw.items() if k != "name"},
            g_name=g_raw.get("name"),
            aux_weight=task.get("aux_weight"),
            task_options={k: v for k, v in task.items() if k != "name"},
            lr_g=_field(_opt(cfg, "g"), "lr"),
            lr_d=_field(_opt(cfg, "d"), "lr"),
            n_critic=get("train", "n_critic"),
            data=str(get("data", "name", default="fashion-mnist")),
            data_limit=get("data", "limit"),
            max_steps=get("train", "max_steps"),
            max_minutes=get("train", "max_minutes"),
            grad_clip=get("train", "grad_clip"),
            precision=str(get("train", "precision", default="32")),
        )

    @property
    def profile(self) -> LossProfile:
        return loss_profile(self.loss)

    @property
    def n_modes(self) -> int | None:
        """Modes of the data where it is a 2D mixture (mode coverage is countable), else None."""
        return mixture_modes(self.data)

    def has(self, regularizer: str) -> bool:
        return regularizer in self.regularizers


__all__ = ["RuleContext", "loss_profile", "mixture_modes"]
