"""benchmarks/plot_curves.py joins the Sacred folders of a resumed run into one run."""

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import plot_curves  # noqa: E402


def write_sacred_folder(folder, token, steps, values, seed=1, minutes=10, metric="test_battle_won_mean"):
    os.makedirs(folder)
    with open(os.path.join(folder, "info.json"), "w") as handle:
        json.dump({"unique_token": token, metric: values, f"{metric}_T": steps}, handle)
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


def test_results_table_rows_come_from_the_runs(tmp_path, capsys, monkeypatch):
    import results_table

    # seed 1 resumed at 30k; final = mean of the last 5 tests
    write_sacred_folder(tmp_path / "mast" / "1", "run_a", [0, 10000, 20000, 30000, 40000], [0.0, 0.1, 0.2, 0.3, 0.4])
    write_sacred_folder(tmp_path / "mast" / "2", "run_a", [30000, 40000, 50000], [0.35, 0.95, 0.55])
    write_sacred_folder(tmp_path / "mast" / "3", "run_b", [0, 10000, 20000, 30000, 40000], [0.2] * 5, seed=2)
    with open(tmp_path / "mast" / "3" / "info.json") as handle:
        info = json.load(handle)
    info.update(train_flops_ratio=[0.12, 0.123], train_flops_ratio_T=[0, 40000],
                infer_flops_ratio=[0.117], infer_flops_ratio_T=[0])
    with open(tmp_path / "mast" / "3" / "info.json", "w") as handle:
        json.dump(info, handle)
    write_sacred_folder(tmp_path / "dense" / "1", "run_c", [0, 10000], [0.5, 0.91], seed=3)
    monkeypatch.setattr(sys, "argv", ["results_table.py", "--group", f"MAST (sm_scale=spread)={tmp_path}/mast/*",
                                      "--group", f"dense={tmp_path}/dense/*"])
    results_table.main()
    lines = capsys.readouterr().out.splitlines()
    finals = np.array([np.mean([0.1, 0.2, 0.35, 0.95, 0.55]), 0.2])
    assert lines[2] == (f"| MAST (sm_scale=spread) | 2 | {finals[0]:.3f} / 0.200 | {finals.mean():.3f} +- {finals.std():.3f} | "
                        "0.950 / 0.200 | 40k / never | 50k / 40k | 0.123 / 0.117 |")
    assert lines[3] == "| dense | 1 | 0.705 | 0.705 +- 0.000 | 0.910 | 10k | 10k | 1 / 1 |"


def test_results_table_reads_another_metric_with_its_own_threshold(tmp_path, capsys, monkeypatch):
    import results_table

    write_sacred_folder(tmp_path / "lbf" / "1", "run_a", [0, 10000, 20000], [0.1, 0.4, 0.7], metric="test_return_mean")
    monkeypatch.setattr(sys, "argv", ["results_table.py", "--group", f"QMIX={tmp_path}/lbf/*",
                                      "--metric", "test_return_mean", "--threshold", "0.5"])
    results_table.main()
    lines = capsys.readouterr().out.splitlines()
    assert "first test >= 0.5 at" in lines[0]
    assert lines[2] == "| QMIX | 1 | 0.400 | 0.400 +- 0.000 | 0.700 | 20k | 20k | 1 / 1 |"
    monkeypatch.setattr(sys, "argv", ["results_table.py", "--group", f"QMIX={tmp_path}/lbf/*"])
    with pytest.raises(SystemExit, match="no run with test_battle_won_mean"):
        results_table.main()
    monkeypatch.setattr(sys, "argv", ["results_table.py", "--group", f"{tmp_path}/lbf/*"])
    with pytest.raises(SystemExit, match="is not LABEL=GLOB"):
        results_table.main()


def test_results_table_window_means_follow_each_run(tmp_path, capsys, monkeypatch):
    import results_table

    # seed 1 resumed at 30k (its segments joined), seed 2 shorter: its missing window is "-"
    write_sacred_folder(tmp_path / "mast" / "1", "run_a", [0, 10000, 20000, 30000, 40000], [0.0, 0.1, 0.2, 0.9, 0.9])
    write_sacred_folder(tmp_path / "mast" / "2", "run_a", [30000, 40000, 50000], [0.3, 0.5, 0.6])
    write_sacred_folder(tmp_path / "mast" / "3", "run_b", [0, 10000], [0.4, 0.8], seed=2)
    monkeypatch.setattr(sys, "argv", ["results_table.py", "--group", f"MAST={tmp_path}/mast/*", "--window", "20000"])
    results_table.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[4] == "Mean of test_battle_won_mean per 20k-step window:"
    assert lines[6:] == ["| run | 0-0.02M | 0.02-0.04M | 0.04-0.06M |", "|---|---|---|---|",
                         "| MAST, seed 1 | 0.05 | 0.25 | 0.55 |", "| MAST, seed 2 | 0.60 | - | - |"]
    monkeypatch.setattr(sys, "argv", ["results_table.py", "--group", f"MAST={tmp_path}/mast/*", "--window", "0"])
    with pytest.raises(SystemExit, match="--window must be a positive number of env steps, not 0"):
        results_table.main()


def test_archived_runs_read_as_the_originals(tmp_path):
    import archive_runs

    sacred = tmp_path / "results" / "sacred" / "3m" / "mast_qmix_1M"
    write_sacred_folder(sacred / "1", "run_a", [0, 10000, 20000, 30000, 40000], [0.0, 0.1, 0.2, 0.3, 0.4])
    write_sacred_folder(sacred / "2", "run_a", [30000, 40000, 50000], [0.35, 0.45, 0.55], minutes=5)
    with open(sacred / "2" / "run.json") as handle:
        resumed = json.load(handle)
    resumed["start_time"] = "2026-11-24T11:00:00.000000"
    with open(sacred / "2" / "run.json", "w") as handle:
        json.dump(resumed, handle)
    write_sacred_folder(sacred / "3", "run_b", [0, 10000], [0.0, 0.5], seed=2)
    with open(sacred / "3" / "run.json", "w") as handle:
        json.dump({"status": "RUNNING", "start_time": "2026-11-24T10:00:00.000000",
                   "heartbeat": "2026-11-24T10:05:00.000000"}, handle)
    archive = tmp_path / "archive"
    archive_runs.main([str(sacred / "*"), "--to", str(archive)])

    archived = sorted((archive / "3m" / "mast_qmix_1M").iterdir())
    assert [folder.name for folder in archived] == ["run_a_2026-11-24T10-00-00", "run_a_2026-11-24T11-00-00"]
    assert sorted(os.listdir(archived[0])) == ["config.json", "info.json", "run.json"]
    original = plot_curves.load_runs([str(sacred / "1"), str(sacred / "2")], "test_battle_won_mean")
    copied = plot_curves.load_runs([str(folder) for folder in archived], "test_battle_won_mean")
    assert copied[0]["steps"].tolist() == original[0]["steps"].tolist()
    np.testing.assert_allclose(copied[0]["values"], original[0]["values"])

    archive_runs.main([str(sacred / "*"), "--to", str(archive)])  # a rerun copies nothing twice
    assert len(list((archive / "3m" / "mast_qmix_1M").iterdir())) == 2
