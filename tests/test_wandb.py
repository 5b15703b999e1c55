"""Weights & Biases (issue 18, item 4): every stat with its env step and the config, checked in
offline mode by reading the run's file back (no account, no network)."""

import glob
import importlib.util
import os

import pytest

from cli_runs import output_of, read_json, run_main, sacred_dir
from main import prepare_config
from utils.config import ConfigError


def test_a_missing_wandb_package_is_named_before_the_run(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "wandb" else find_spec(name, *rest))
    with pytest.raises(ConfigError,
                       match="use_wandb is True but the package 'wandb' is not installed: pip install wandb"):
        prepare_config(["main.py", "--config=qmix", "--env-config=smax", "with", "use_wandb=True"])


@pytest.mark.slow  # a src/main.py subprocess run
def test_an_offline_wandb_run_holds_every_stat_at_its_env_step_and_the_config(tmp_path):
    offline = pytest.importorskip("wandb_offline", reason="needs wandb (requirements.txt) to read its files")
    results = str(tmp_path)
    result = run_main(results, "t_max=500", "name=tracked", "use_wandb=True", "wandb_mode=offline",
                      "wandb_project=mast_tests")
    assert result.returncode == 0, output_of(result)[-3000:]
    (path,) = glob.glob(os.path.join(results, "wandb", "offline-run-*", "run-*.wandb"))
    logged = {}
    for entry in offline.history(path):
        for key, value in entry.items():
            if not key.startswith("_") and key != "t_env":
                logged.setdefault(key, []).append((entry["t_env"], value))
    info = read_json(os.path.join(sacred_dir(results, "tracked", 1), "info.json"))
    stats = [key for key in info if key + "_T" in info]
    assert {"loss_td", "return_mean", "test_battle_won_mean", "epsilon"} <= set(stats)
    for key in stats:  # the same values at the same env steps as Sacred's record
        assert [step for step, _ in logged[key]] == info[key + "_T"], key
        assert [value for _, value in logged[key]] == [float(v) for v in info[key]], key
    stored = offline.config(path)
    assert stored["lr"] == 0.001 and stored["name"] == "tracked" and stored["env_args"]["map_name"] == "3m"


@pytest.mark.slow  # a src/main.py subprocess run
def test_a_bad_wandb_mode_is_one_line(tmp_path):
    result = run_main(str(tmp_path), "use_wandb=True", "wandb_mode=cloud")
    assert result.returncode == 2
    assert "error: wandb_mode must be one of online, offline, disabled, got 'cloud'" in output_of(result)
