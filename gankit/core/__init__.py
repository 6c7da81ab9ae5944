"""Contracts only: what tasks, phases, batches, hooks and registries are. Imports nothing else of gankit."""

from gankit.core.batch import Batch
from gankit.core.clock import Clock, parse_point
from gankit.core.hooks import Hook, RunView
from gankit.core.objective import LossProfile, Targets
from gankit.core.phase import Phase, PhaseContext, Terms, lazy_ratio
from gankit.core.registry import Registry
from gankit.core.task import OptimizerSpec, Signature, Task, TaskEnv

__all__ = [
    "Batch", "Clock", "Hook", "LossProfile", "OptimizerSpec", "Phase", "PhaseContext", "Registry",
    "RunView", "Signature", "Targets", "Task", "TaskEnv", "Terms", "lazy_ratio", "parse_point",
]
