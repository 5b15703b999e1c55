"""Config layering and the one-message errors for bad input."""

import pytest

from cli_runs import run_main
from main import prepare_config
from utils.config import ConfigError, layered_config


def test_layers_apply_in_order_default_env_alg():
    config = layered_config("qmix", "smax")
    assert config["batch_size_run"] == 8          # default 1 < envs/smax.yaml
    assert config["runner"] == "vectorized"       # envs/smax.yaml
    assert config["lr"] == 0.001                  # default 0.0005 < algs/qmix.yaml
    assert config["td_lambda"] == 0.6             # algs/qmix.yaml
    assert config["env_args"]["map_name"] == "3m"
    assert config["mixer"] == "qmix"
    assert layered_config("vdn", "smax")["mixer"] == "vdn"


def test_with_overrides_win_and_reach_nested_keys():
    config, _ = prepare_config(["main.py", "--config=qmix", "--env-config=smax", "with", "lr=0.01",
                                "env_args.map_name=2s3z", "batch_size=64"])
    assert config["lr"] == 0.01
    assert config["env_args"]["map_name"] == "2s3z"
    assert config["batch_size"] == 64


def test_space_separated_flags_work_too():
    config, sacred_argv = prepare_config(["main.py", "--config", "vdn", "--env-config", "smax"])
    assert config["mixer"] == "vdn" and sacred_argv == ["main.py"]


@pytest.mark.parametrize("argv, fragment", [
    (["--config=qmixx", "--env-config=smax"], "unknown --config 'qmixx'"),
    (["--config=qmix", "--env-config=smac"], "unknown --env-config 'smac'"),
    (["--env-config=smax"], "--config is required"),
    (["--config=qmix", "--env-config=smax", "with", "learning_rate=0.1"], "unknown config key 'learning_rate'"),
    (["--config=qmix", "--env-config=smax", "with", "env_args.mapname=3m"], "unknown config key 'mapname'"),
    (["--config=qmix", "--env-config=smax", "with", "batch_size=12.5"], "batch_size' must be int"),
    (["--config=qmix", "--env-config=smax", "with", "double_q=1"], "double_q' must be bool"),
    (["--config=qmix", "--env-config=smax", "with", "lr=fast"], "lr' must be float"),
    (["--config=qmix", "--env-config=smax", "with", "batch_size=6000"], "must not exceed buffer_size"),
    (["--config=qmix", "--env-config=smax", "with", "gamma=1.5"], "gamma must lie in [0, 1]"),
    (["--config=qmix", "--env-config=smax", "with", "target_update_tau=0.0"], "target_update_tau must lie in (0, 1]"),
    (["--config=qmix", "--env-config=smax", "with", "runner=fast"], "runner 'fast' is not one of"),
    (["--config=qmix", "--env-config=smax", "with", "mixer=qmixer"], "mixer 'qmixer' is not one of"),
    (["--config=qmix", "--env-config=smax", "with", "evaluate=True"], "evaluate=True needs checkpoint_path"),
    (["--config=qmix", "--env-config=smax", "with", "env_args.map_name=4m"], "unknown SMAX map '4m'"),
    (["--config=qmix", "--env-config=smax", "with", "lr=None"], "'lr' must be float, got None"),
    (["--config=qmix", "--env-config=smax", "with", "seed=abc"], "seed must be an integer or null"),
    (["--config=qmix", "--env-config=smax", "with", "env_args.max_steps=0"], "env_args.max_steps must be at least 1"),
    (["--config=qmix", "--env-config=smax", "with", "optim_eps=-1.0"], "optim_eps must be positive"),
    (["--config=qmix", "--env-config=sc2", "with", "runner=vectorized"], "runner 'vectorized' needs an env"),
    (["--config=qmix", "--env-config=smax", "with", "seed=-1"], "seed must lie in [0, 2**32)"),
    (["--config=qmix", "--env-config=smax", "with", "name=../../.."], "name must be a plain folder name"),
    (["--config=qmix", "--env-config=smax", "with", "name=runs/a"], "name must be a plain folder name"),
    (["--config=qmix", "--env-config=smax", "t_max=5"], "'t_max=5' needs 'with' before it"),
])
def test_bad_input_is_one_clear_config_error(argv, fragment):
    with pytest.raises(ConfigError) as error:
        prepare_config(["main.py", *argv])
    assert fragment in str(error.value)


def test_unknown_map_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known maps: .*2s3z.*3m.*3s5z"):
        prepare_config(["main.py", "--config=qmix", "--env-config=smax", "with", "env_args.map_name=4m"])


def test_sc2_without_smac_says_what_is_missing_and_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "no_game_here"))
    from envs.sc2 import SMACUnavailableError

    with pytest.raises(SMACUnavailableError) as error:
        prepare_config(["main.py", "--config=qmix", "--env-config=sc2"])
    message = str(error.value)
    assert "pip install git+https://github.com/oxwhirl/smac.git" in message
    assert "--env-config=smax" in message


@pytest.mark.slow
def test_main_reports_bad_input_in_one_line_without_traceback():
    # python src/main.py --config=qmix --env-config=smax with batch_size=6000
    result = run_main(None, "batch_size=6000", tiny=False, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: batch_size (6000) must not exceed buffer_size (5000)"]
