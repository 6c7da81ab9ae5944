"""Checkpoints of an engine, generic over the task's network and optimizer names.

Layout 2: ``{name}.safetensors`` for every network (trained and averaged, e.g. ``G``, ``D``,
``G_ema``), and in ``state``: ``optimizers`` by name, the data position, RNG states, hook and task
state (tricks), the training time used, the config and the world size.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gankit.errors import CheckpointError
from gankit.train.checkpoint import load_checkpoint

if TYPE_CHECKING:
    from gankit.train.engine import Engine

LAYOUT = 2


def is_old_layout(state: dict[str, Any]) -> bool:
    """Checkpoints of gankit before Core v2: fixed ``optim_g``/``optim_d``, no layout number."""
    return "layout" not in state and "optim_g" in state


def engine_state(e: "Engine") -> dict[str, Any]:
    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and e.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(e.device)
    return {
        "layout": LAYOUT,
        "task": e.cfg.task.name,
        "signature": e.task.signature(),
        "class_names": getattr(e.task, "class_names", None),
        "optimizers": {k: o.state_dict() for k, o in e.optimizers.items()},
        "data": e.source.state_dict(),
        "rng": rng,
        "hooks": [h.state_dict() for h in e.hooks],
        "task_state": e.task.state_dict(),
        "elapsed_s": e.elapsed(),
        "config": e.cfg.model_dump(mode="json"),
        "world_size": e.world_size,
    }


def engine_weights(e: "Engine") -> dict[str, dict[str, torch.Tensor]]:
    return {name: m.state_dict() for name, m in e.all_nets().items()}


def restore(e: "Engine", path: Path) -> None:
    ckpt = load_checkpoint(path)
    if is_old_layout(ckpt.state):
        raise CheckpointError(
            f"{path} comes from the older checkpoint layout (gankit before Core v2: fixed G/D optimizers). "
            "`gankit sample` and `gankit eval` still read it; training cannot resume from it -- start a new run."
        )
    if ckpt.state.get("world_size", 1) != e.world_size:
        raise CheckpointError(f"{path} was written by {ckpt.state.get('world_size')} processes; resume with the same number (train.devices).")
    try:
        for name, m in e.all_nets().items():
            m.load_state_dict(ckpt.weights(name))
        for name, opt in e.optimizers.items():
            opt.load_state_dict(ckpt.state["optimizers"][name])
    except (RuntimeError, ValueError, KeyError, CheckpointError) as err:
        raise CheckpointError(
            f"{path}: does not fit this recipe's networks ({str(err).splitlines()[0]}). "
            "Resume with the recipe the run was started with (its config.yaml)."
        ) from None
    e.source.load_state_dict(ckpt.state["data"])
    torch.set_rng_state(ckpt.state["rng"]["torch"])
    if "cuda" in ckpt.state["rng"] and e.device.type == "cuda":
        torch.cuda.set_rng_state(ckpt.state["rng"]["cuda"], e.device)
    for hook, hs in zip(e.hooks, ckpt.state.get("hooks", [])):
        hook.load_state_dict(hs)
    e.task.load_state_dict(ckpt.state.get("task_state", {}))
    if e.rank > 0:  # only rank 0's stream is saved; give the others fresh, distinct ones
        torch.manual_seed(e.cfg.seed * 1000 + 17 + e.rank + 7919 * ckpt.step)
    e.step = ckpt.step
    e.elapsed_before = float(ckpt.state.get("elapsed_s", 0.0))
    e.resumed_from = path
