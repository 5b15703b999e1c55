"""Learning curves and a summary table from Sacred run folders.

Each ``--group LABEL=GLOB`` names a set of run folders (``results/sacred/<map>/<name>/<id>``)
plotted as one curve of ``--metric`` against env steps (mean of the runs, with each run
faint; ``--smooth N`` plots moving means over N logged values). Prints, per run: the last
value, the mean of the last 5, the best value, the env steps of the first value >=
``--threshold`` and the wall time from Sacred's run.json; then, per group, the mean and
standard deviation over its runs of the mean of the last 5 values ("final"), and the mean
of the last and best values.

A run resumed from a checkpoint (``with checkpoint_path=...``) logs into a new Sacred folder
under the same ``unique_token``; folders that share one are joined into one run, each
segment's values kept up to the step where the next segment resumed.

    python benchmarks/plot_curves.py --group "QMIX=results/sacred/3m/qmix_bench/*" \
        --out docs/img/qmix_3m.png --title "Dense QMIX on SMAX 3m" --threshold 0.9
"""

import argparse
import datetime
import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def group_spec(spec):
    """``(label, glob)`` of a ``--group "LABEL=GLOB"`` argument, split at its last "=" so that a
    label may hold one (``"fixed omega (sm_scale=fixed)=results/sacred/3m/x/*"``)."""
    label, equals, pattern = spec.rpartition("=")
    if not equals or not label or not pattern:
        raise SystemExit(f"error: --group {spec!r} is not LABEL=GLOB")
    return label, pattern


def load_segment(folder, metric):
    """One Sacred folder: the values it logged and its wall time."""
    with open(os.path.join(folder, "info.json")) as handle:
        info = json.load(handle)
    with open(os.path.join(folder, "run.json")) as handle:
        run = json.load(handle)
    with open(os.path.join(folder, "config.json")) as handle:
        config = json.load(handle)
    start = datetime.datetime.fromisoformat(run["start_time"])
    stop = datetime.datetime.fromisoformat(run.get("stop_time") or run["heartbeat"])
    return {
        "folder": folder,
        "unique_token": info.get("unique_token", folder),
        "seed": config["seed"],
        "status": run["status"],
        "steps": np.array(info.get(metric + "_T", []), dtype=np.int64),
        "values": np.array(info.get(metric, []), dtype=float),
        "wall_s": (stop - start).total_seconds(),
    }


def join_segments(segments):
    """One run from the segments of an interrupted and resumed run, in the order they logged.

    A run stopped after its last checkpoint logged steps that the resumed run logs again:
    each segment keeps only its values before the step where the next one starts.
    """
    segments = sorted(segments, key=lambda segment: segment["steps"][0])
    steps, values = [], []
    for segment, following in zip(segments, segments[1:] + [None]):
        kept = segment["steps"] < following["steps"][0] if following is not None else slice(None)
        steps.append(segment["steps"][kept])
        values.append(segment["values"][kept])
    return {
        "folder": ", ".join(segment["folder"] for segment in segments),
        "seed": segments[-1]["seed"],
        "status": segments[-1]["status"],
        "steps": np.concatenate(steps),
        "values": np.concatenate(values),
        "wall_s": sum(segment["wall_s"] for segment in segments),
    }


def load_runs(folders, metric):
    """The runs in ``folders`` that logged ``metric``, resumed segments joined by unique_token."""
    by_token = {}
    for folder in folders:
        segment = load_segment(folder, metric)
        if segment["values"].size:
            by_token.setdefault(segment["unique_token"], []).append(segment)
    return [join_segments(segments) for segments in by_token.values()]


def first_step_at(run, threshold):
    reached = np.flatnonzero(run["values"] >= threshold)
    return int(run["steps"][reached[0]]) if reached.size else None


def mean_curve(runs):
    """Mean over runs on the steps all of them logged (runs log at nearly the same steps)."""
    length = min(len(run["values"]) for run in runs)
    steps = np.mean([run["steps"][:length] for run in runs], axis=0)
    return steps, np.mean([run["values"][:length] for run in runs], axis=0)


def smoothed(values, window):
    """Moving mean over ``window`` values (shorter at the start), as long as ``values``."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def final_value(run):
    """The mean of a run's last 5 logged values."""
    return run["values"][-5:].mean()


def group_summary(label, runs):
    finals = np.array([final_value(run) for run in runs])
    return (f"| {label} | {len(runs)} | {finals.mean():.3f} +- {finals.std():.3f} | "
            f"{np.mean([run['values'][-1] for run in runs]):.3f} | {np.mean([run['values'].max() for run in runs]):.3f} | "
            f"{int(np.mean([run['steps'][-1] for run in runs]))} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", required=True, help="LABEL=GLOB of run folders")
    parser.add_argument("--metric", default="test_battle_won_mean")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--title", default="")
    parser.add_argument("--smooth", type=int, default=1, help="plot moving means over this many logged values")
    options = parser.parse_args()

    figure, axis = plt.subplots(figsize=(7, 4.5))
    print(f"| group | seed | status | env steps | last {options.metric} | mean of last 5 | best | "
          f"first >= {options.threshold} at | wall time |")
    print("|---|---|---|---|---|---|---|---|---|")
    summaries = []
    for spec in options.group:
        label, pattern = group_spec(spec)
        runs = load_runs([folder for folder in sorted(glob.glob(pattern))
                          if os.path.isfile(os.path.join(folder, "info.json"))], options.metric)
        if not runs:
            raise SystemExit(f"no runs with {options.metric} match {pattern}")
        steps, values = mean_curve(runs)
        (mean_line,) = axis.plot(steps, smoothed(values, options.smooth), linewidth=2,
                                 label=f"{label} (mean of {len(runs)})")
        for run in runs:
            axis.plot(run["steps"], smoothed(run["values"], options.smooth), color=mean_line.get_color(),
                      alpha=0.3, linewidth=0.8)
            reached = first_step_at(run, options.threshold)
            print(f"| {label} | {run['seed']} | {run['status']} | {run['steps'][-1]} | {run['values'][-1]:.3f} | "
                  f"{final_value(run):.3f} | {run['values'].max():.3f} | {reached if reached is not None else 'never'} | "
                  f"{run['wall_s'] / 60:.1f} min |")
        summaries.append(group_summary(label, runs))
    print("\n| group | runs | final (mean of last 5), mean +- sd over runs | last | best | env steps |")
    print("|---|---|---|---|---|---|")
    print("\n".join(summaries))
    axis.set_xlabel("environment steps")
    axis.set_ylabel(options.metric + (f" (moving mean of {options.smooth})" if options.smooth > 1 else ""))
    axis.set_title(options.title)
    axis.grid(alpha=0.3)
    axis.legend()
    os.makedirs(os.path.dirname(options.out) or ".", exist_ok=True)
    figure.tight_layout()
    figure.savefig(options.out, dpi=110)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
