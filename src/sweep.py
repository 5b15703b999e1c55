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

import signal
import sys
import time

from main import DATABASE_RECORD_INCOMPLETE
from sweeps.launch import ray_session, run_points
from sweeps.plan import plan_points
from sweeps.records import final_of, is_complete, sweep_runs
from sweeps.search import search
from sweeps.tasks import COMPLETE_CODES
from utils.config import ConfigError


def point_status(point, runs, outcome):
    """``(status, complete)`` of a point after the sweep ran."""
    code, error = outcome
    if point.action == "skip":
        return "already complete", True
    if code not in COMPLETE_CODES:
        return f"failed (exit {code}: {error})", False
    if not is_complete(runs):
        return "not complete", False
    status = "resumed, complete" if point.action == "resume" else "complete"
    return status + (" (its MongoDB record is incomplete)" if code == DATABASE_RECORD_INCOMPLETE else ""), True


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
        final = final_of(runs)
        lines.append(f"  {point.label}: {status}" + ("" if final is None else f", final {final[0]} {final[1]:.3f}"))
    return n_complete, lines


def main(argv):
    if "--search" in argv:
        return search([arg for arg in argv if arg != "--search"])
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
            with ray_session(options.get("ray_address")) as ray:
                outcomes = run_points(ray, to_run)
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
    # a sweep started in the background of a script inherits SIGINT ignored, and Python then
    # raises no KeyboardInterrupt: restore it, so that Ctrl-C or kill -INT stops the sweep
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main(sys.argv))
