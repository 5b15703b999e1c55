"""A sweep's points, each checked as main.py checks a run, with what to do about it.

For every point of the grid (sweeps/grid.py): its main.py command line (the sweep's tokens,
the point's values, its run name, ``sweep_name``, ``sweep_point`` and ``save_model=True``
unless the sweep sets ``save_model``), validated by main.py's own checks, and its action:
``skip`` when one of its runs completed, ``resume`` from its latest checkpoint, or ``start``.
"""

import dataclasses
import os
import sys

from main import prepare_config, split_argv
from sweeps.grid import format_value, parse_grid, point_label, run_name
from sweeps.records import is_complete, sweep_checkpoints, sweep_runs
from utils.checkpoint import CheckpointError, saved_steps
from utils.config import ConfigError, scenario_name

SWEEP_OPTIONS = ("ray_address", "search_trials", "search_storage")  # the sweep's own keys, not its runs'
MAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "main.py")


@dataclasses.dataclass
class Point:
    label: str  # "key=value ..." over the axes: the run's sweep_point
    config: dict  # the run's full, validated config
    command: list  # its main.py command line
    action: str  # "start", "resume" or "skip" (complete)
    log_path: str


def sweep_options(tokens):
    """Split ``with`` tokens into the sweep's own options and the runs' tokens."""
    options, rest = {}, []
    for token in tokens:
        key, _, value = token.partition("=")
        if key in SWEEP_OPTIONS:
            options[key] = value
        else:
            rest.append(token)
    return options, rest


def with_tokens(sacred_argv):
    return sacred_argv[sacred_argv.index("with") + 1:] if "with" in sacred_argv else []


def default_sweep_name(alg, env):
    """``<alg>_<env>``, the alg named by its file's stem when ``--config`` is a path."""
    return f"{os.path.splitext(os.path.basename(alg))[0]}_{env}"


def plan_points(argv):
    """Every point of the sweep ``argv`` asks for, validated; raises ConfigError naming a bad point."""
    alg, env, sacred_argv = split_argv(argv)
    options, tokens = sweep_options(with_tokens(sacred_argv))
    try:
        grid = parse_grid(alg, env, tokens)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    records, points = {}, []
    for point in grid.points():
        label = point_label(point)
        point_tokens = [f"{key}={format_value(value)}" for key, value in point]
        base = [MAIN, f"--config={alg}", f"--env-config={env}", "with", *grid.fixed, *point_tokens]
        try:
            config, _ = prepare_config(base)
        except (ConfigError, CheckpointError) as error:
            raise ConfigError(f"point {label}: {error}") from None
        sweep_name = config["sweep_name"] or default_sweep_name(alg, env)
        tags = [f"name={run_name(config['name'], point)}", f"sweep_name={sweep_name}", f"sweep_point={label}"]
        if not any(token.startswith("save_model=") for token in grid.fixed):
            tags.append("save_model=True")  # so that an interrupted point resumes
        results = config["local_results_path"]
        if results not in records:  # read once per results folder
            records[results] = sweep_runs(results, sweep_name), sweep_checkpoints(results, sweep_name)
        runs, checkpoints = records[results]
        checkpoint = checkpoints.get(label)
        if is_complete(runs.get(label, [])) or (
                checkpoint is not None and saved_steps(checkpoint)[-1] >= config["t_max"]):
            action = "skip"  # complete, or trained to t_max and stopped before its record said so
        elif checkpoint is not None:
            action, tags = "resume", [*tags, f"checkpoint_path={checkpoint}"]
        else:
            action = "start"
        command = [*base, *tags]
        try:
            config, _ = prepare_config(command)
        except (ConfigError, CheckpointError) as error:
            raise ConfigError(f"point {label}: {error}") from None
        map_name = scenario_name(config["env"], config["env_args"])
        log_name = f"{config['name']}_seed{config['seed']}_{map_name}.log"
        points.append(Point(label, config, [sys.executable, *command], action,
                            os.path.join(results, "sweeps", sweep_name, log_name)))
    return points, options


