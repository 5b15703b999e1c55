"""A few thousand env steps of QMIX on SMAX 3m through src/main.py, as a user runs it."""

import json

import pytest

from cli_runs import run_main

pytestmark = pytest.mark.slow  # a few thousand env steps through a src/main.py subprocess

PYMARL2_METRICS = [
    "return_mean", "return_std", "ep_length_mean", "epsilon", "test_return_mean", "test_battle_won_mean",
    "battle_won_mean", "loss_td", "grad_norm", "td_error_abs", "q_taken_mean", "target_mean",
]


def test_qmix_trains_on_smax_and_writes_pymarl2_results(tmp_path):
    result = run_main(tmp_path, "t_max=3000", "batch_size=32", "test_interval=1000", "log_interval=1000",
                      "runner_log_interval=1000", "learner_log_interval=1000", "test_nepisode=8", "seed=3",
                      "name=integration", tiny=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    run_dir = tmp_path / "sacred" / "3m" / "integration" / "1"
    for name in ("config.json", "run.json", "info.json", "metrics.json", "cout.txt"):
        assert (run_dir / name).is_file(), name
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "COMPLETED"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["env_args"]["map_name"] == "3m" and config["seed"] == 3 and config["t_max"] == 3000

    info = json.loads((run_dir / "info.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in PYMARL2_METRICS:
        assert key in info and key + "_T" in info, key
        assert len(info[key]) == len(info[key + "_T"]) >= 1, key
        assert key in metrics and metrics[key]["steps"] == info[key + "_T"], key
    assert all(0.0 <= won <= 1.0 for won in info["test_battle_won_mean"])
    assert info["epsilon"][-1] < 1.0  # the schedule moved
    assert info["return_mean_T"][-1] >= 2000
    assert "Finished training" in (run_dir / "cout.txt").read_text()
