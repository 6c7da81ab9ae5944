"""Tasks, one file each, registered by name: ``task:`` in a recipe picks one (default ``gan``)."""

from __future__ import annotations

from typing import Any

from gankit.core.registry import Registry
from gankit.core.task import Task

TASKS: Registry[Any] = Registry("task", "gankit.tasks")


def task_options(cfg: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """The recipe's ``task:`` options over ``defaults``; an unknown one is named with the valid ones."""
    from gankit.core.errors import ConfigError
    from gankit.core.registry import did_you_mean

    given = cfg.task.params
    for key in given:
        if key not in defaults:
            valid = did_you_mean(key, list(defaults)) if defaults else " It takes no options."
            raise ConfigError(f"task.{key}: unknown option for task {cfg.task.name!r}.{valid}")
    return {**defaults, **given}


def refuse_relativistic(loss: Any, task: str) -> None:
    """A relativistic loss (``ragan``) needs D's real scores in the G step, which only ``srgan`` passes."""
    if getattr(loss, "relativistic", False):
        from gankit.core.errors import ConfigError

        raise ConfigError(f"loss: {type(loss).__name__} is relativistic (its G loss needs D's scores on real images), which only "
                          f"task srgan (ESRGAN) supports; task {task} takes nonsaturating, lsgan, hinge, wgan_gp, ...")  # fmt: skip


def build_task(cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> Task:
    """``known``: what a checkpoint recorded (``class_names``), so loading needs no training data."""
    return TASKS.get(cfg.task.name, "task.name")(cfg, tuple(sample_shape), **known)


__all__ = ["TASKS", "Task", "build_task"]
