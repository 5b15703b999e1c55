"""A sweep's grid: which ``with`` values are axes, the points they span, and each point's run.

    python src/sweep.py --config=<alg> --env-config=<env> with seed=[1,2,3] env_args.map_name=[3m,2s3z] \\
        sparse.sparsity=[0.9,0.95] sweep_name=table1

A list given for a key whose declared value is not a list is an axis (its elements may be
bare words, ``[3m,2s3z]``); every other ``key=value`` is set in every run, as in main.py.
A key whose declared value is itself a list (``td_lambda_schedule``, ``sparse.dense_layers``)
is swept with the ``grid:`` prefix and a list of its values,
``td_lambda_schedule=grid:[[[0,0.0],[0.1,0.6]],[[0,0.0],[0.5,0.6]]]``; ``grid:`` works for
any key. The points are the cartesian product of the axes, in the order given.

Each point is one ordinary run of main.py, named ``<name>__<axis=value ...>`` by the axes
other than ``seed`` and ``env_args.map_name`` (which the run's folders already name), so that
``results/sacred/<map>/<run name>/`` holds the seeds of one configuration, and tagged with
``sweep_name`` and ``sweep_point``.
"""

import dataclasses
import itertools
import re

from utils.config import layered_config, parse_value

GRID_PREFIX = "grid:"
UNNAMED_AXES = ("seed", "env_args.map_name")  # already in the run's folder names


def split_top_level(text):
    """``"a, [b, c], d"`` -> ``["a", "[b, c]", "d"]``: commas outside brackets and quotes."""
    parts, depth, current, quote = [], 0, "", None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[({":
            depth += 1
        elif char in "])}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def parse_list(text):
    """``[3m, 2s3z]`` or ``[0.9, 0.95]`` -> a list; elements that are not literals are strings."""
    value = parse_value(text)
    if isinstance(value, list):
        return value
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        raise ValueError(f"expected a list [v1, v2, ...], got {text!r}")
    return [parse_value(part) for part in split_top_level(inner[1:-1])]


def declared_value(declared, key):
    """The declared value of dotted ``key`` (None if it is not declared)."""
    value = declared
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def format_value(value):
    """A value as a ``with`` token writes it (strings bare, the rest as literals)."""
    return value if isinstance(value, str) else repr(value)


@dataclasses.dataclass
class Grid:
    """``fixed``: the ``key=value`` tokens of every run; ``axes``: ``[(key, [values])]``."""

    alg: str
    env: str
    fixed: list
    axes: list

    def points(self):
        """Every point, ``[(key, value), ...]`` in axis order."""
        keys = [key for key, _ in self.axes]
        return [list(zip(keys, values)) for values in itertools.product(*(values for _, values in self.axes))]


def parse_grid(alg, env, tokens):
    """The grid of ``with`` tokens (``key=value``); a ValueError names a malformed axis."""
    declared = layered_config(alg, env)
    fixed, axes = [], []
    for token in tokens:
        if "=" not in token:
            raise ValueError(f"'{token}' after 'with' is not key=value")
        key, text = token.split("=", 1)
        if text.startswith(GRID_PREFIX):
            axes.append((key, parse_list(text[len(GRID_PREFIX):])))
        elif text.strip().startswith("[") and not isinstance(declared_value(declared, key), list):
            axes.append((key, parse_list(text)))
        else:
            fixed.append(token)
    for key, values in axes:
        if not values:
            raise ValueError(f"the axis {key} has no values")
    return Grid(alg, env, fixed, axes)


def point_label(point, keys=None):
    """``"key=value key=value"`` of a point (of its ``keys`` only, if given)."""
    return " ".join(f"{key}={format_value(value)}" for key, value in point if keys is None or key in keys)


def run_name(base_name, point):
    """``<base>__<axis=value_...>`` over the axes other than seed and map; ``base`` if none."""
    named = [(key, value) for key, value in point if key not in UNNAMED_AXES]
    if not named:
        return base_name
    label = "_".join(f"{key}={format_value(value)}" for key, value in named)
    return f"{base_name}__{re.sub(r'[^A-Za-z0-9._=+-]', '', label)}"
