"""Name -> factory registries, so a recipe can pick a component by name.

Adding a component is one file: define it, decorate it with ``@REGISTRY.register("name")``.
Each component package imports all of its modules (subpackages too) on first use, so no index needs editing.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from typing import Any, Callable, Generic, TypeVar

from gankit.core.errors import ConfigError

T = TypeVar("T", bound=Callable[..., Any])


def closest(name: str, options: list[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(name, options, n=n, cutoff=0.6)


def did_you_mean(name: str, options: list[str]) -> str:
    near = closest(name, options)
    hint = f" Did you mean {', '.join(repr(x) for x in near)}?" if near else ""
    return f"{hint} Valid: {', '.join(sorted(options))}."


class Registry(Generic[T]):
    """A named collection of factories, filled by importing every module of ``package``."""

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}
        self._loaded = package is None

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            return obj

        return deco

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        pkg = importlib.import_module(self.package)  # type: ignore[arg-type]
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{self.package}."):
            if not info.name.rsplit(".", 1)[-1].startswith("_"):
                importlib.import_module(info.name)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def get(self, name: str, path: str = "") -> T:
        self._load()
        if name not in self._items:
            where = f"{path}: " if path else ""
            raise ConfigError(f"{where}unknown {self.kind} {name!r}.{did_you_mean(name, list(self._items))}")
        return self._items[name]

    def build(self, name: str, params: dict[str, Any], path: str = "", **fixed: Any) -> Any:
        """Call the factory with ``params`` from the recipe plus ``fixed`` from the program.

        Unknown recipe keys are reported with the path and the closest valid names, and
        values are type-checked against the factory's annotations.
        """
        factory = self.get(name, path)
        sig = inspect.signature(factory)
        accepted = [p for p in sig.parameters if p not in fixed and p != "self"]
        has_var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        for key in params:
            if key not in accepted and not has_var_kw:
                raise ConfigError(
                    f"{path}.{key}: unknown option for {self.kind} {name!r}."
                    f"{did_you_mean(key, accepted) if accepted else ' It takes no options.'}"
                )
        checked = _validate_params(factory, sig, params, path, f"{self.kind} {name!r}")
        return factory(**checked, **fixed)


def _validate_params(factory: Any, sig: inspect.Signature, params: dict[str, Any], path: str, what: str) -> dict[str, Any]:
    """Coerce/validate params against annotations with pydantic, naming the path on failure."""
    import typing

    import pydantic

    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except Exception:  # noqa: BLE001 - unresolvable hints: skip type checking, not the build
        hints = {}
    out: dict[str, Any] = {}
    for key, value in params.items():
        hint = hints.get(key)
        if hint is None:
            out[key] = value
            continue
        try:
            out[key] = pydantic.TypeAdapter(hint).validate_python(value)
        except pydantic.ValidationError as e:
            msg = e.errors()[0]["msg"]
            raise ConfigError(f"{path}.{key}: invalid value {value!r} for {what}: {msg}") from None
    return out
