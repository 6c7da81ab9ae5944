"""safetensors export: the inference module's state dict, the full recipe it was built from, and the
signature -- enough for gankit to rebuild the module without the run folder (:func:`load_safetensors`),
and for any safetensors reader to get the weights. No code is serialised (unlike a pickle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gankit.errors import ExportError

RECIPE_FILE = "recipe.yaml"


def export_safetensors(module: nn.Module, cfg: Any, path: Path) -> dict[str, Any]:
    """Write ``module``'s state dict to ``path`` and the recipe beside it; returns {exporter, opset}."""
    import yaml
    from safetensors.torch import save_file

    from gankit.utils.io import atomic_write_text

    # copies: safetensors refuses tensors that share storage (tied embeddings, views of one buffer)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt", "gankit": "inference module state dict"})
    atomic_write_text(path.parent / RECIPE_FILE, yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    return {"exporter": "safetensors", "opset": None, "exporter_notes": None}


def rebuild_module(root: Path, sig: dict[str, Any]) -> tuple[nn.Module, Any]:
    """(inference module with the exported weights, its Config), from ``recipe.yaml`` and ``model.safetensors``."""
    import yaml
    from safetensors.torch import load_file

    from gankit.config import validate
    from gankit.data import data_spec
    from gankit.tasks import build_task

    recipe = root / RECIPE_FILE
    if not recipe.is_file():
        raise ExportError(f"{root}: {RECIPE_FILE} is missing; a safetensors export needs its recipe to rebuild the module.")
    try:
        cfg = validate(yaml.safe_load(recipe.read_text()))
    except Exception as e:  # noqa: BLE001 - ConfigError or a YAML error: either way, say which file
        raise ExportError(f"{recipe}: does not validate under this gankit ({str(e).splitlines()[0]}).") from None
    known = {"class_names": sig["class_names"]} if sig.get("class_names") else {}
    task = build_task(cfg, data_spec(cfg.data.name).sample_shape(cfg.data), **known)
    direction = (sig.get("source") or {}).get("direction")
    net = task.direction_network(direction) if direction and hasattr(task, "direction_network") else None
    module = task.build_inference(net) if net else task.build_inference()
    try:
        module.load_state_dict(load_file(str(root / sig["files"]["model"])))
    except (RuntimeError, OSError) as e:
        raise ExportError(f"{root}: the weights do not fit the recipe's network ({str(e).splitlines()[0][:300]}).") from None
    return module.eval(), cfg


def load_safetensors(path: str | Path):  # noqa: ANN201 - gankit.inference.Inference
    """A safetensors export as an :class:`~gankit.inference.Inference` (sampling, translation, serving)."""
    from gankit.export.signature import check_model_file, read_signature
    from gankit.inference import Inference

    root, sig = read_signature(path)
    if sig["format"] != "safetensors":
        raise ExportError(f"{root}: a {sig['format']} export; load_safetensors reads --format safetensors exports.")
    check_model_file(root, sig)
    module, cfg = rebuild_module(root, sig)
    keys = ("task", "z_dim", "num_classes", "input_shape", "output_shape", "output")
    signature = {k: sig[k] for k in keys} | {"value_range": sig["value_range"] or [float("-inf"), float("inf")]}
    signature |= {k: sig[k] for k in ("scale", "mask_shape") if sig.get(k)}
    src = sig["source"] or {}
    return Inference(module=module, signature=signature, cfg=cfg, step=int(src.get("step") or 0), path=root,  # type: ignore[arg-type]
                     weights=str(src.get("weights")), class_names=sig.get("class_names"))  # fmt: skip


def safetensors_runner(root: Path, sig: dict[str, Any], wrap_fn: Any):  # noqa: ANN201 - a Runner (see parity.py)
    """The module rebuilt from the written files, wrapped like the eager one, for the parity check."""
    module, _ = rebuild_module(root, sig)
    wrapped = wrap_fn(module)

    @torch.no_grad()
    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return wrapped(*(torch.from_numpy(v) for v in feeds.values())).float().numpy()

    return run
