"""The Markdown results table of docs/results.md, computed from Sacred run folders.

Each ``--group "LABEL=GLOB"`` names the run folders (``results/sacred/<map>/<name>/<id>``) of
one row; the segments of a run resumed from a checkpoint are joined into one run, as
``plot_curves.py`` does. Per row: the seeds, the final test win rate of each run (the mean of
its last 5 tests) and their mean +- sd (population form), the best test of each run, the
env steps of its first test at or above ``--threshold``, the env steps reached, and the
training / inference FLOPs ratios the runs logged (1 / 1 for dense runs, which log none).

    python benchmarks/results_table.py --group "dense QMIX=results/sacred/3m/qmix_1M/*" \\
        --group "MAST-QMIX=results/sacred/3m/mast_qmix_1M/*"
"""

import argparse
import glob
import os

import numpy as np

from plot_curves import final_value, first_step_at, load_runs

WIN_RATE = "test_battle_won_mean"


def thousands(steps):
    return "never" if steps is None else f"{round(steps / 1000)}k"


def flops_ratios(folders):
    """``train / inference`` as the runs logged them (their last values, averaged over runs)."""
    ratios = []
    for metric in ("train_flops_ratio", "infer_flops_ratio"):
        runs = load_runs(folders, metric)
        ratios.append(f"{np.mean([run['values'][-1] for run in runs]):.3f}" if runs else "1")
    return " / ".join(ratios)


def table_row(label, pattern, threshold):
    folders = [folder for folder in sorted(glob.glob(pattern)) if os.path.isfile(os.path.join(folder, "info.json"))]
    runs = sorted(load_runs(folders, WIN_RATE), key=lambda run: run["seed"])
    if not runs:
        raise SystemExit(f"error: no run with {WIN_RATE} matches {pattern!r} (group {label!r})")
    finals = np.array([final_value(run) for run in runs])
    return "| " + " | ".join([
        label,
        str(len(runs)),
        " / ".join(f"{value:.3f}" for value in finals),
        f"{finals.mean():.3f} +- {finals.std():.3f}",
        " / ".join(f"{run['values'].max():.3f}" for run in runs),
        " / ".join(thousands(first_step_at(run, threshold)) for run in runs),
        " / ".join(thousands(int(run["steps"][-1])) for run in runs),
        flops_ratios(folders),
    ]) + " |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", required=True, help='"LABEL=GLOB" of the Sacred run folders of a row')
    parser.add_argument("--threshold", type=float, default=0.9, help="the win rate of the 'first test at' column")
    options = parser.parse_args()
    for spec in options.group:
        if "=" not in spec:
            raise SystemExit(f"error: --group {spec!r} is not LABEL=GLOB")
    rows = [table_row(*spec.split("=", 1), options.threshold) for spec in options.group]
    print(f"| run | seeds | final per seed | final, mean +- sd | best per seed | first test >= {options.threshold:g} at "
          f"| env steps | FLOPs train / inference |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
