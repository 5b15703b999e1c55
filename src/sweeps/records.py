"""What a sweep has done so far, read from its runs' own records (no state file of its own).

Every run of a sweep carries ``sweep_name`` and ``sweep_point`` in its Sacred config, so the
sweep's state is in ``<local_results_path>/sacred/``: a point is complete once one of its
Sacred runs is COMPLETED; otherwise it resumes from the latest checkpoint of its runs under
``<local_results_path>/models/`` (their ``meta.json`` carries the same tags), or starts again.
"""

import glob
import json
import os

FINAL_TESTS = 5  # "final" = the mean of a run's last 5 test win rates, as in docs/results.md
FINAL_METRICS = ("test_battle_won_mean", "test_return_mean")  # the first one a run logged


def _read_json(path):
    try:
        with open(path) as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return None


def sweep_runs(results_path, sweep_name):
    """``{sweep_point: [run, ...]}`` of the Sacred runs of ``sweep_name``, each run a dict with
    ``dir``, ``status``, ``config`` and ``info``, oldest first."""
    runs = {}
    for config_path in sorted(glob.glob(os.path.join(results_path, "sacred", "*", "*", "*", "config.json"))):
        config = _read_json(config_path)
        if not config or config.get("sweep_name") != sweep_name:
            continue
        run_dir = os.path.dirname(config_path)
        record = _read_json(os.path.join(run_dir, "run.json")) or {}
        runs.setdefault(config["sweep_point"], []).append({
            "dir": run_dir,
            "status": record.get("status", "UNKNOWN"),
            "start_time": record.get("start_time", ""),
            "config": config,
            "info": _read_json(os.path.join(run_dir, "info.json")) or {},
        })
    for point_runs in runs.values():
        point_runs.sort(key=lambda run: run["start_time"])
    return runs


def is_complete(point_runs):
    return any(run["status"] == "COMPLETED" for run in point_runs)


def final_test_value(info):
    """``(metric, value)``: the mean of a run's last ``FINAL_TESTS`` test win rates, or test
    returns for envs without wins (gymma); None if it has neither."""
    for metric in FINAL_METRICS:
        values = info.get(metric) or []
        if values:
            return metric, sum(values[-FINAL_TESTS:]) / len(values[-FINAL_TESTS:])
    return None


def final_of(point_runs):
    """``(metric, value)`` of a point's last completed run (see :func:`final_test_value`), or None."""
    finished = [run for run in point_runs if run["status"] == "COMPLETED"]
    return final_test_value(finished[-1]["info"]) if finished else None


def sweep_checkpoints(results_path, sweep_name):
    """``{sweep_point: model directory}`` of the sweep's runs, each point's most recently saved one."""
    latest = {}
    for meta_path in glob.glob(os.path.join(results_path, "models", "*", "*", "meta.json")):
        config = (_read_json(meta_path) or {}).get("config", {})
        if config.get("sweep_name") != sweep_name:
            continue
        modified = os.path.getmtime(meta_path)
        point = config.get("sweep_point")
        if point not in latest or modified > latest[point][1]:
            latest[point] = (os.path.dirname(os.path.dirname(meta_path)), modified)
    return {point: model_dir for point, (model_dir, _) in latest.items()}
