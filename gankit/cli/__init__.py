"""The ``gankit`` command line. User errors print one clear message and exit 2, never a traceback.

- :mod:`gankit.cli.args`: argument types that check every value before any work starts;
- :mod:`gankit.cli.parser`: the subcommands and their arguments;
- :mod:`gankit.cli.commands`: what each subcommand does;
- :mod:`gankit.cli.recipes`: where recipes are found.
"""

from __future__ import annotations

import sys

from gankit.cli.recipes import RECIPE_DIRS, find_recipe, recipe_paths
from gankit.errors import GankitError

EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3

__all__ = ["RECIPE_DIRS", "build_parser", "find_recipe", "main", "recipe_paths"]


def build_parser():  # noqa: ANN201 - argparse.ArgumentParser; imported lazily so `import gankit.cli` stays light
    from gankit.cli.parser import build_parser as build

    return build()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GankitError as e:
        from gankit.errors import TrainingDiverged

        print(f"gankit: error: {e}", file=sys.stderr)
        return EXIT_DIVERGED if isinstance(e, TrainingDiverged) else EXIT_USER_ERROR
    except OSError as e:  # a path the user gave that cannot be read or written (permissions, a full disk)
        from gankit.utils.io import describe_os_error

        print(f"gankit: error: {describe_os_error(e, 'read or write')}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
