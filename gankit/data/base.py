"""What a data source is to the rest of gankit: a registered :class:`DataSpec` per ``data.name``.

A spec says what one item looks like, builds the resumable training source (which yields
:class:`~gankit.core.batch.Batch` es), loads the real items for evaluation, names its reference
splits, and says whether it has labels (``num_classes``, ``class_names``). Labelled items reach
the batches as ``Batch.c`` (int64, (N,)), which unconditional tasks ignore. Adding a dataset is one
module in ``gankit/data/`` that registers a spec with ``@SOURCES.register("name")``; everything
else (config checks, evaluation, plots, the doctor) asks the spec.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Sequence

import torch

from gankit.core.registry import Registry
from gankit.data.labels import label_switches
from gankit.errors import ConfigError, DataError

SOURCES: Registry[Any] = Registry("data source", "gankit.data")


class DataSpec:
    """One dataset family. Methods take the recipe's ``DataConfig``.

    ``has_labels`` says the family *always* has labels (the IDX datasets; callers use it to pass
    ``data.root`` on to dataset references). Whether a given config has labels -- an image folder
    has them only when it is laid out one subfolder per class -- is ``num_classes(cfg) > 0``.
    """

    kind: ClassVar[Literal["image", "vector"]] = "image"
    has_labels: ClassVar[bool] = False

    def sample_shape(self, cfg: Any) -> tuple[int, ...]:
        """The shape of one item, from the config alone (the inference path builds G from it)."""
        return (cfg.channels, cfg.image_size, cfg.image_size)

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> Any:  # fmt: skip
        """The training batches; ``holdout``: leave the validation items out (checkpoint selection is on)."""
        raise NotImplementedError

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        """Real items on CPU for evaluation: uint8 (N, C, S, S) or float32 (N, D), resized like training."""
        raise NotImplementedError

    def reference(self, cfg: Any, split: str) -> str | None:
        """The ``gankit eval`` reference spec for ``split`` (``val``/``test``), or None when there is none.

        None too when ``data.classes`` keeps a subset: a reference's statistics cover every class,
        and FID against them would measure the missing classes as a fault of the generator.
        """
        return None

    def num_classes(self, cfg: Any) -> int:
        """How many labels the training items carry (after ``data.classes``); 0 when the data has none."""
        return 0

    def class_names(self, cfg: Any) -> list[str] | None:
        """Label index -> class name (after ``data.classes``); None when the data has no labels."""
        return None

    def missing_labels(self, cfg: Any) -> str:
        """Why this config has no labels and how to get some: the tail of :func:`require_labels`' message."""
        return f"data.name {cfg.name!r} has none: use fashion-mnist, mnist, or an image folder with one subfolder per class"

    def load_real_labeled(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(uint8 images (N, C, S, S), int64 labels (N,)) on CPU, for intra-class FID and classifier scores.

        The same items, in the same order, as :meth:`load_real`; labels as in training (after
        ``data.classes``). ``data.per_class_limit`` is not applied: evaluation sees the true distribution.
        """
        raise DataError(f"real images by class (intra-class FID, CAS) need class labels, but {self.missing_labels(cfg)}.")

    def mixture(self, cfg: Any) -> tuple[torch.Tensor, float] | None:
        """(means, sigma) of a synthetic mixture whose modes can be counted; None for real data."""
        return None


def data_spec(name: str) -> DataSpec:
    """The spec registered as ``name`` (a clear error naming the valid ones otherwise)."""
    return SOURCES.get(name, "data.name")()


def require_labels(cfg: Any, what: str) -> int:
    """The number of classes, or a ConfigError saying that ``what`` needs labels this data lacks.

    ``cfg`` is the recipe's ``Config`` or its ``DataConfig``; ``what`` names the asker
    (``"task 'cgan'"``, ``"data.balance"``), so the message says who needs labels and how to get them.
    """
    data = getattr(cfg, "data", cfg)
    spec = data_spec(data.name)
    k = spec.num_classes(data)
    if k == 0:
        raise labels_error([what], spec.missing_labels(data))
    return k


def labels_error(who: Sequence[str], missing: str) -> ConfigError:
    """One wording for every missing-labels error: ``<who> need(s) class labels, but <missing>.``"""
    subject = f"{who[0]} needs" if len(who) == 1 else ", ".join(who[:-1]) + f" and {who[-1]} need"
    return ConfigError(f"{subject} class labels, but {missing}.")


def check_label_switches(spec: DataSpec, cfg: Any) -> None:
    """A ConfigError naming ``data.classes`` / ``data.per_class_limit`` / ``data.balance`` set on unlabeled data."""
    keys = label_switches(cfg)
    if keys and spec.num_classes(cfg) == 0:
        raise labels_error(keys, spec.missing_labels(cfg))
