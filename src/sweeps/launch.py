"""The driver's side of a sweep on Ray: start or join Ray, run points as tasks, collect outcomes."""

import contextlib
import os
import sys
import warnings

from sweeps.tasks import COMPLETE_CODES, run_point

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def ray_session(address):
    """Ray joined at ``address``, or a local Ray on every core of this machine; shut down after."""
    import ray

    # Ray starts its local daemons with fork+exec after the checks loaded JAX; nothing runs in between.
    warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
    ray.init(address=address, num_cpus=None if address else os.cpu_count(), include_dashboard=False,
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": SRC}})
    try:
        yield ray
    finally:
        ray.shutdown()


def run_points(ray, points):
    """Run the points' commands as Ray tasks; returns ``{label: (exit code, error line)}``.

    Ctrl-C cancels the tasks, which stop their runs as Ctrl-C would, then re-raises."""
    task = ray.remote(run_point)
    pending = {}
    for point in points:
        ref = task.options(num_cpus=point.config["num_cpus"], num_gpus=point.config["num_gpus"]).remote(
            point.command, os.getcwd(), point.log_path)  # relative paths mean what they meant to the sweep
        pending[ref] = point
        print(f"{point.action:>6}: {point.label}  (log: {point.log_path})", flush=True)
    outcomes = {}
    try:
        while pending:
            # short waits: a wait that blocks inside Ray's C++ does not always let Ctrl-C through
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            if not done:
                continue
            point = pending.pop(done[0])
            code, error = outcomes[point.label] = task_outcome(ray, done[0])
            print(f"{'done' if code in COMPLETE_CODES else 'failed':>6}: {point.label}"
                  + ("" if code in COMPLETE_CODES else f"  (exit {code}: {error})"), flush=True)
    except KeyboardInterrupt:
        print("stopping: each running point stops as on Ctrl-C (a final checkpoint); launch the sweep again to "
              "resume", file=sys.stderr, flush=True)
        for ref in pending:
            ray.cancel(ref)
        for ref, point in pending.items():
            outcomes[point.label] = task_outcome(ray, ref)
        raise
    return outcomes


def task_outcome(ray, ref):
    try:
        return ray.get(ref)
    except (ray.exceptions.RayError, KeyboardInterrupt) as error:  # a lost worker, a cancelled task
        return -1, " ".join(str(error).split())[:200]
