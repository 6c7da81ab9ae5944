"""Tasks, one file each, registered by name: ``task:`` in a recipe picks one (default ``gan``)."""

from __future__ import annotations

from typing import Any

from gankit.core.registry import Registry
from gankit.core.task import Task

TASKS: Registry[Any] = Registry("task", "gankit.tasks")


def build_task(cfg: Any, sample_shape: tuple[int, ...]) -> Task:
    return TASKS.get(cfg.task, "task")(cfg, tuple(sample_shape))


__all__ = ["TASKS", "Task", "build_task"]
