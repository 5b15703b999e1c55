"""The Markdown results table of docs/results.md, computed from Sacred run folders.

Each ``--group "LABEL=GLOB"`` names the run folders (``results/sacred/<map>/<name>/<id>``) of
one row; the segments of a run resumed from a checkpoint are joined into one run, as
``plot_curves.py`` does. Per row: the seeds, the final test win rate of each run (the mean of
its last 5 tests) and their mean +- sd (population form), the best test of each run, the
env steps of its first test at or above ``--threshold``, the env steps reached, and the
training / inference FLOPs ratios the runs logged (1 / 1 for dense runs, which log none).

    python benchmarks/results_table.py --group "dense QMIX=results/sacred/3m/qmix_1M/*" \\
        --group "MAST-QMIX=results/sacred/3m/mast_qmix_1M/*"

``--metric`` picks another logged test metric in place of the win rate, e.g.
``test_return_mean`` for envs without wins (gymma's); ``--threshold`` is then in its units.

``--window STEPS`` adds a second table: per run, the mean of its tests in each window of STEPS
env steps (0 to STEPS, STEPS to 2 STEPS, ...), the shape of a learning curve in figures.

    python benchmarks/results_table.py --window 200000 --group "MAST-QMIX=docs/runs/3s5z/mast_qmix_3s5z_2M/*"

``--sweep NAME`` makes the rows from a sweep of src/sweep.py instead: one row per grid point
without its seed (the seeds of a row are its runs), labelled by that point.

    python benchmarks/results_table.py --sweep table1 [--results results]
"""

import argparse
import glob
import os
import sys

import numpy as np

from plot_curves import final_value, first_step_at, group_spec, load_runs

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from sweeps.records import sweep_runs  # noqa: E402

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


def glob_groups(specs):
    """``[(label, folders, where)]`` of ``--group "LABEL=GLOB"`` arguments."""
    groups = []
    for spec in specs:
        label, pattern = group_spec(spec)
        folders = [folder for folder in sorted(glob.glob(pattern)) if os.path.isfile(os.path.join(folder, "info.json"))]
        groups.append((label, folders, f"matches {pattern!r}"))
    return groups


def sweep_groups(results, sweep_name):
    """``[(label, folders, where)]`` of a sweep: its points without the seed, each with its runs' folders."""
    groups = {}
    for point, runs in sweep_runs(results, sweep_name).items():
        label = " ".join(part for part in point.split(" ") if not part.startswith("seed=")) or sweep_name
        groups.setdefault(label, []).extend(run["dir"] for run in runs)
    if not groups:
        raise SystemExit(f"error: no run of sweep {sweep_name!r} under {results}/sacred")
    return [(label, folders, f"in sweep {sweep_name!r}") for label, folders in groups.items()]


def seed_ordered_runs(label, folders, where, metric):
    """The group's runs that logged ``metric``, by seed; one line naming the group when it has none."""
    runs = sorted(load_runs(folders, metric), key=lambda run: run["seed"])
    if not runs:
        raise SystemExit(f"error: no run with {metric} {where} (group {label!r})")
    return runs


def table_row(label, folders, runs, threshold):
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


def window_table(group_runs, window):
    """Per run (a row per seed of each group), the mean of its values in each ``window`` of env steps."""
    rows = []
    for label, _, runs in group_runs:
        for run in runs:
            index = run["steps"] // window
            means = {int(k): run["values"][index == k].mean() for k in np.unique(index)}
            rows.append((f"{label}, seed {run['seed']}", means))
    count = 1 + max(max(means) for _, means in rows)
    header = [f"{k * window / 1e6:g}-{(k + 1) * window / 1e6:g}M" for k in range(count)]
    lines = ["| run | " + " | ".join(header) + " |", "|---|" + "---|" * count]
    for name, means in rows:
        lines.append(f"| {name} | " + " | ".join(f"{means[k]:.2f}" if k in means else "-" for k in range(count)) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows_from = parser.add_mutually_exclusive_group(required=True)
    rows_from.add_argument("--group", action="append", help='"LABEL=GLOB" of the Sacred run folders of a row')
    rows_from.add_argument("--sweep", help="the name of a sweep of src/sweep.py: a row per point without its seed")
    parser.add_argument("--results", default="results", help="local_results_path of the sweep (with --sweep)")
    parser.add_argument("--metric", default=WIN_RATE, help="the logged test metric of the table (default: the win rate)")
    parser.add_argument("--threshold", type=float, default=0.9,
                        help="the metric's value of the 'first test at' column (default 0.9, a win rate)")
    parser.add_argument("--window", type=int, metavar="STEPS",
                        help="also print each run's mean test value per window of STEPS env steps")
    options = parser.parse_args()
    if options.window is not None and options.window <= 0:
        raise SystemExit(f"error: --window must be a positive number of env steps, not {options.window}")
    groups = sweep_groups(options.results, options.sweep) if options.sweep else glob_groups(options.group)
    group_runs = [(label, folders, seed_ordered_runs(label, folders, where, options.metric))
                  for label, folders, where in groups]
    rows = [table_row(label, folders, runs, options.threshold) for label, folders, runs in group_runs]
    print(f"| run | seeds | final per seed | final, mean +- sd | best per seed | first test >= {options.threshold:g} at "
          f"| env steps | FLOPs train / inference |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if options.window is not None:
        print(f"\nMean of {options.metric} per {thousands(options.window)}-step window:\n")
        print("\n".join(window_table(group_runs, options.window)))


if __name__ == "__main__":
    main()
