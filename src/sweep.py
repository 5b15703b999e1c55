"""Sweeps: every point of a grid of settings as an ordinary run of src/main.py, on Ray.

    python src/sweep.py --config=mast_qmix --env-config=smax with seed=[1,2,3] env_args.map_name=[3m,2s3z] \\
        sparse.sparsity=[0.9,0.95] sweep_name=table1

Axes and run names: sweeps/grid.py. Every point is validated (main.py's checks, and its
resume) before any run starts; each then runs as a Ray task reserving the run's ``num_cpus``
and ``num_gpus``. Without ``ray_address`` a local Ray uses all of this machine's cores; with
``ray_address=HOST:PORT`` the sweep joins a running cluster (``ray start --head``, then
``ray start --address=HOST:PORT`` on each worker; workers need this checkout at the same
path and write under the same ``local_results_path``, a shared one, or to one ``mongo_url``).

Launched again with the same ``sweep_name``, a sweep skips its complete points and resumes
the others from their latest checkpoints (sweeps/records.py; runs save checkpoints unless
``save_model=False`` is given). A failed point is reported with its error line and does not
stop the others. Exit code: 0 when every point is complete, 1 otherwise, 2 for bad input,
130 when stopped with Ctrl-C (the runs stop as on Ctrl-C: final checkpoints).
"""

import dataclasses
import os
import sys
import time
import warnings

from main import prepare_config, split_argv
from sweeps.grid import format_value, parse_grid, point_label, run_name
from sweeps.records import final_win_rate, is_complete, latest_checkpoint, sweep_runs
from sweeps.tasks import run_point
from utils.checkpoint import CheckpointError
from utils.config import ConfigError

SRC = os.path.dirname(os.path.abspath(__file__))
MAIN = os.path.join(SRC, "main.py")
REPO = os.path.dirname(SRC)
SWEEP_OPTIONS = ("ray_address",)  # keys of the sweep itself, not of its runs


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
        key = token.split("=", 1)[0]
        (options.__setitem__(key, token.split("=", 1)[1]) if key in SWEEP_OPTIONS else rest.append(token))
    return options, rest


def with_tokens(sacred_argv):
    return sacred_argv[sacred_argv.index("with") + 1:] if "with" in sacred_argv else []


def plan_points(argv):
    """Every point of the sweep ``argv`` asks for, validated; raises ConfigError naming a bad point."""
    alg, env, sacred_argv = split_argv(argv)
    options, tokens = sweep_options(with_tokens(sacred_argv))
    try:
        grid = parse_grid(alg, env, tokens)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    runs_by_path, points = {}, []
    for point in grid.points():
        label = point_label(point)
        point_tokens = [f"{key}={format_value(value)}" for key, value in point]
        base = [MAIN, f"--config={alg}", f"--env-config={env}", "with", *grid.fixed, *point_tokens]
        try:
            config, _ = prepare_config(base)
        except (ConfigError, CheckpointError) as error:
            raise ConfigError(f"point {label}: {error}") from None
        sweep_name = config["sweep_name"] or f"{alg}_{env}"
        tags = [f"name={run_name(config['name'], point)}", f"sweep_name={sweep_name}", f"sweep_point={label}"]
        if not any(token.startswith("save_model=") for token in grid.fixed):
            tags.append("save_model=True")  # so that an interrupted point resumes
        results = config["local_results_path"]
        if results not in runs_by_path:
            runs_by_path[results] = sweep_runs(results, sweep_name)
        checkpoint = latest_checkpoint(results, sweep_name, label)
        if is_complete(runs_by_path[results].get(label, [])):
            action = "skip"
        elif checkpoint is not None:
            action, tags = "resume", [*tags, f"checkpoint_path={checkpoint}"]
        else:
            action = "start"
        command = [*base, *tags]
        if action != "skip":
            try:
                config, _ = prepare_config(command)
            except (ConfigError, CheckpointError) as error:
                raise ConfigError(f"point {label}: {error}") from None
        map_name = config["env_args"].get("map_name", config["env"])
        log_name = f"{config['name']}_seed{config['seed']}_{map_name}.log"
        points.append(Point(label, config, [sys.executable, *command], action,
                            os.path.join(results, "sweeps", sweep_name, log_name)))
    return points, options


def run_on_ray(points, address):
    """Run the points' commands as Ray tasks; returns ``{label: (exit code, error line)}``."""
    import ray

    # Ray starts its local daemons with fork+exec after the checks above loaded JAX; nothing runs in between.
    warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
    ray.init(address=address, num_cpus=None if address else os.cpu_count(), include_dashboard=False,
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": SRC}})
    try:
        task = ray.remote(run_point)
        pending = {}
        for point in points:
            ref = task.options(num_cpus=point.config["num_cpus"], num_gpus=point.config["num_gpus"]).remote(
                point.command, REPO, point.log_path)
            pending[ref] = point
            print(f"{point.action:>6}: {point.label}  (log: {point.log_path})", flush=True)
        outcomes = {}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                point = pending.pop(done[0])
                outcomes[point.label] = task_outcome(ray, done[0])
                code, error = outcomes[point.label]
                print(f"{'done' if code == 0 else 'failed':>6}: {point.label}" + ("" if code == 0 else f"  (exit {code}: {error})"),
                      flush=True)
        except KeyboardInterrupt:
            print("stopping: each running point stops as on Ctrl-C (a final checkpoint); launch the sweep again to "
                  "resume", file=sys.stderr, flush=True)
            for ref in pending:
                ray.cancel(ref)
            for ref, point in pending.items():
                outcomes[point.label] = task_outcome(ray, ref)
            raise
        return outcomes
    finally:
        ray.shutdown()


def task_outcome(ray, ref):
    try:
        return ray.get(ref)
    except (ray.exceptions.RayError, KeyboardInterrupt) as error:  # a lost worker, a cancelled task
        return -1, " ".join(str(error).split())[:200]


def point_status(point, runs, outcome):
    """``(status, complete)`` of a point after the sweep ran."""
    code, error = outcome
    if point.action == "skip":
        return "already complete", True
    if code != 0:
        return f"failed (exit {code}: {error})", False
    if not is_complete(runs):
        return "not complete", False
    return ("resumed, complete" if point.action == "resume" else "complete"), True


def summary(points, outcomes):
    """``(points complete, lines)``: one line per point, its status and final test win rate."""
    records, lines, n_complete = {}, [], 0
    for point in points:
        results = point.config["local_results_path"]
        if results not in records:
            records[results] = sweep_runs(results, point.config["sweep_name"])
        runs = records[results].get(point.label, [])
        status, complete = point_status(point, runs, outcomes.get(point.label, (0, "")))
        n_complete += complete
        finished = [run for run in runs if run["status"] == "COMPLETED"]
        rate = final_win_rate(finished[-1]["info"]) if finished else None
        lines.append(f"  {point.label}: {status}" + ("" if rate is None else f", final test win rate {rate:.3f}"))
    return n_complete, lines


def main(argv):
    started = time.time()
    try:
        points, options = plan_points(argv)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sweep_name = points[0].config["sweep_name"] if points else ""
    to_run = [point for point in points if point.action != "skip"]
    print(f"Sweep {sweep_name}: {len(points)} points, {len(points) - len(to_run)} already complete, "
          f"{sum(point.action == 'resume' for point in to_run)} to resume", flush=True)
    outcomes, interrupted = {}, False
    if to_run:
        try:
            outcomes = run_on_ray(to_run, options.get("ray_address"))
        except KeyboardInterrupt:
            interrupted = True
    n_complete, lines = summary(points, outcomes)
    print(f"Sweep {sweep_name} after {time.time() - started:.0f} s: {n_complete} of {len(points)} points complete")
    print("\n".join(lines))
    print(f"Table: python benchmarks/results_table.py --sweep {sweep_name}")
    if interrupted:
        return 130
    return 0 if n_complete == len(points) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
