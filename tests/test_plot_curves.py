"""benchmarks/plot_curves.py joins the Sacred folders of a resumed run into one run."""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import plot_curves  # noqa: E402


def write_sacred_folder(folder, token, steps, values, seed=1, minutes=10):
    os.makedirs(folder)
    with open(os.path.join(folder, "info.json"), "w") as handle:
        json.dump({"unique_token": token, "test_battle_won_mean": values, "test_battle_won_mean_T": steps}, handle)
    with open(os.path.join(folder, "run.json"), "w") as handle:
        json.dump({"status": "COMPLETED", "start_time": "2026-11-24T10:00:00.000000",
                   "stop_time": f"2026-11-24T10:{minutes:02d}:00.000000"}, handle)
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump({"seed": seed}, handle)


def test_resumed_segments_join_at_the_resume_step(tmp_path):
    # The first segment logged up to 40k steps but its last checkpoint was at 25k: the resumed
    # segment starts logging again from 30k, so the first segment's 30k and 40k values are dropped.
    write_sacred_folder(tmp_path / "1", "run_a", [0, 10000, 20000, 30000, 40000], [0.0, 0.1, 0.2, 0.3, 0.4])
    write_sacred_folder(tmp_path / "2", "run_a", [30000, 40000, 50000], [0.35, 0.45, 0.55], minutes=5)
    write_sacred_folder(tmp_path / "3", "run_b", [0, 10000], [0.0, 0.5], seed=2)
    runs = plot_curves.load_runs([str(tmp_path / name) for name in ("2", "3", "1")], "test_battle_won_mean")

    assert len(runs) == 2
    joined = next(run for run in runs if run["seed"] == 1)
    assert joined["steps"].tolist() == [0, 10000, 20000, 30000, 40000, 50000]
    np.testing.assert_allclose(joined["values"], [0.0, 0.1, 0.2, 0.35, 0.45, 0.55])
    assert joined["wall_s"] == 15 * 60
    alone = next(run for run in runs if run["seed"] == 2)
    assert alone["steps"].tolist() == [0, 10000]


def test_folders_without_the_metric_are_left_out(tmp_path):
    write_sacred_folder(tmp_path / "1", "run_a", [], [])
    assert plot_curves.load_runs([str(tmp_path / "1")], "test_battle_won_mean") == []
