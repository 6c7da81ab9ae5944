"""Where recipes are found: ``./configs`` first, then the ones shipped beside the package."""

from __future__ import annotations

from pathlib import Path

from gankit.errors import ConfigError

RECIPE_DIRS = [Path.cwd() / "configs", Path(__file__).resolve().parent.parent.parent / "configs"]


def find_recipe(name_or_path: str) -> Path:
    """A path to a YAML file, or a recipe name from ``configs/`` (with or without ``.yaml``)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    if p.is_dir():
        raise ConfigError(f"{p} is a folder; a recipe is a YAML file or a name from `gankit recipes`.")
    for d in RECIPE_DIRS:
        for cand in (d / name_or_path, d / f"{name_or_path}.yaml"):
            if cand.is_file():
                return cand
    from gankit.core.registry import did_you_mean

    names = sorted({q.stem for d in RECIPE_DIRS if d.is_dir() for q in d.glob("*.yaml")})
    raise ConfigError(f"no recipe file {name_or_path!r}.{did_you_mean(p.stem, names)}")


def recipe_paths() -> list[Path]:
    seen: dict[str, Path] = {}
    for d in RECIPE_DIRS:
        if d.is_dir():
            for q in sorted(d.glob("*.yaml")):
                seen.setdefault(q.name, q)
    return [seen[k] for k in sorted(seen)]
