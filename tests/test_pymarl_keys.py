"""PyMARL2's and EPyMARL's alg YAMLs run unchanged (issue 18, item 3): their keys for WQMIX and
the rest are translated, keys this framework fixes are accepted at its value, and every key it
cannot take is named in one line."""

import os

import pytest
import yaml

from cli_runs import output_of, read_json, run_main, sacred_dir
from utils.config import ConfigError, layered_config

# The keys of PyMARL2's algorithm files (qmix.yaml, vdn.yaml, ow_qmix.yaml, cw_qmix.yaml) with
# the values they ship with.
PYMARL_COMMON = {
    "action_selector": "epsilon_greedy", "epsilon_start": 1.0, "epsilon_finish": 0.05,
    "epsilon_anneal_time": 100000, "runner": "parallel", "batch_size_run": 8, "buffer_size": 5000,
    "batch_size": 128, "target_update_interval": 200, "t_max": 10050000, "agent_output_type": "q",
    "mixer": "qmix", "mixing_embed_dim": 32, "hypernet_embed": 64, "td_lambda": 0.6, "lr": 0.001,
}
PYMARL_VDN = {**PYMARL_COMMON, "optimizer": "adam", "mac": "n_mac", "agent": "n_rnn", "learner": "nq_learner",
              "q_lambda": False, "mixer": "vdn", "name": "vdn_env=8_adam_td_lambda"}
# qmix.yaml since PyMARL2's layer-norm, orthogonal-init and prioritised-replay switches (all off)
PYMARL_QMIX = {**PYMARL_VDN, "mixer": "qmix", "use_layer_norm": False, "use_orthogonal": False, "gain": 0.01,
               "use_per": False, "per_alpha": 0.6, "per_beta": 0.4, "return_priority": False,
               "name": "qmix_env=8_adam_td_lambda"}
PYMARL_WQMIX = {
    **PYMARL_COMMON, "learner": "max_q_learner", "double_q": True, "hypernet_layers": 2, "central_loss": 1,
    "qmix_loss": 1, "w": 0.1, "central_mixing_embed_dim": 256, "central_action_embed": 1,
    "central_mac": "basic_central_mac", "central_agent": "central_rnn", "central_rnn_hidden_dim": 64,
    "central_mixer": "ff",
}
PYMARL_OW = {**PYMARL_WQMIX, "hysteretic_qmix": True, "name": "ow_qmix_env=8_adam_td_lambda"}
PYMARL_CW = {**PYMARL_WQMIX, "hysteretic_qmix": False, "name": "cw_qmix_env=8_adam_td_lambda"}

# The keys of EPyMARL's value-based algorithm files (qmix.yaml, vdn.yaml, qmix_ns.yaml, vdn_ns.yaml)
# with the values they ship with.
EPYMARL_VDN = {
    "action_selector": "epsilon_greedy", "epsilon_start": 1.0, "epsilon_finish": 0.05, "epsilon_anneal_time": 50000,
    "evaluation_epsilon": 0.0, "runner": "episode", "buffer_size": 5000, "target_update_interval_or_tau": 200,
    "obs_agent_id": True, "obs_last_action": False, "obs_individual_obs": False, "use_rnn": False,
    "standardise_returns": False, "standardise_rewards": True, "agent_output_type": "q", "learner": "q_learner",
    "double_q": True, "mixer": "vdn", "name": "vdn",
}
EPYMARL_QMIX = {**EPYMARL_VDN, "mixer": "qmix", "mixing_embed_dim": 32, "hypernet_layers": 2, "hypernet_embed": 64,
                "name": "qmix"}
EPYMARL_NS = {"obs_agent_id": False, "mac": "non_shared_mac", "agent": "rnn_ns"}


def yaml_file(tmp_path, name, contents):
    path = os.path.join(str(tmp_path), f"{name}.yaml")
    with open(path, "w") as stream:
        yaml.safe_dump(contents, stream)
    return path


@pytest.mark.parametrize("contents, expected", [
    (PYMARL_QMIX, {"learner": "nq_learner", "mixer": "qmix", "td_lambda": 0.6, "runner": "parallel"}),
    (PYMARL_VDN, {"learner": "nq_learner", "mixer": "vdn"}),
    ({**PYMARL_VDN, "use_per": False, "return_priority": True}, {"mixer": "vdn"}),  # as vdn_gfootball.yaml
    (PYMARL_OW, {"learner": "wqmix_learner", "wqmix_weighting": "ow", "wqmix_alpha": 0.1,
                 "central_mixer": "central_ff", "central_mixing_embed_dim": 256}),
    (PYMARL_CW, {"learner": "wqmix_learner", "wqmix_weighting": "cw", "wqmix_alpha": 0.1}),
    (EPYMARL_QMIX, {"mixer": "qmix", "use_rnn": False, "target_update_interval": 200, "standardise_rewards": True,
                    "obs_last_action": False, "runner": "episode"}),
    (EPYMARL_VDN, {"mixer": "vdn", "use_rnn": False, "target_update_interval": 200}),
    ({**EPYMARL_VDN, "target_update_interval_or_tau": 0.01, "name": "vdn_soft"},
     {"target_update_tau": 0.01, "target_update_interval": 200}),
    ({**EPYMARL_QMIX, **EPYMARL_NS, "name": "qmix_ns"}, {"mac": "n_mac", "agent": "rnn_ns", "use_rnn": False}),
    ({**EPYMARL_VDN, "hidden_dim": 128, "name": "vdn_wide"}, {"rnn_hidden_dim": 128}),
])
def test_pymarl_alg_files_layer_into_our_keys(tmp_path, contents, expected):
    config = layered_config(yaml_file(tmp_path, contents["name"], contents), "smax")
    assert {key: config[key] for key in expected} == expected


@pytest.mark.parametrize("name, contents, expected", [
    ("ow_variant", {**PYMARL_OW, "q_lambda": True, "central_rnn_hidden_dim": 128, "use_layer_norm": True, "gain": 0.01,
                    "use_per": True, "per_alpha": 0.6, "use_rnn_dropout": True, "noisy_net": False},
     "unknown config keys 'noisy_net', 'use_rnn_dropout' (neither this framework's nor a PyMARL2 or EPyMARL key it "
     "maps); central_rnn_hidden_dim: 128 (here it is rnn_hidden_dim, 64); q_lambda: True (only False is implemented "
     "here); use_layer_norm: True (only False is implemented here); use_per: True (only False is implemented here)"),
    ("qmix_returns", {**EPYMARL_QMIX, "target_update_interval_or_tau": -1, "standardise_returns": True,
                      "common_reward": False},
     "common_reward: False (only True is implemented here); standardise_returns: True (only False is implemented "
     "here); target_update_interval_or_tau: -1 (a positive interval >= 1, or a tau in (0, 1) for soft updates)"),
])
def test_every_key_that_cannot_be_taken_is_named_at_once(tmp_path, name, contents, expected):
    path = yaml_file(tmp_path, name, contents)
    with pytest.raises(ConfigError) as error:
        layered_config(path, "smax")
    assert str(error.value) == f"{path}: {expected}"  # in the file's order (safe_dump sorts the keys)


@pytest.mark.slow
def test_a_pymarl_cw_qmix_file_trains_unchanged(tmp_path):
    path = yaml_file(tmp_path, "cw_qmix_pymarl", PYMARL_CW)
    result = run_main(str(tmp_path / "results"), "t_max=300", "runner=episode", "batch_size_run=1",
                      config=path)
    assert result.returncode == 0, output_of(result)[-3000:]
    config = read_json(os.path.join(sacred_dir(str(tmp_path / "results"), "cw_qmix_env=8_adam_td_lambda", 1),
                                    "config.json"))
    assert (config["learner"], config["wqmix_weighting"], config["central_mixer"]) == ("wqmix_learner", "cw",
                                                                                        "central_ff")


@pytest.mark.slow
def test_an_epymarl_qmix_ns_file_trains_unchanged_on_lbf(tmp_path):
    path = yaml_file(tmp_path, "qmix_ns_epymarl", {**EPYMARL_QMIX, **EPYMARL_NS, "name": "qmix_ns"})
    results = str(tmp_path / "results")
    result = run_main(results, "t_max=600", "test_interval=300", "env_args.key=lbforaging:Foraging-8x8-2p-3f-v3",
                      "env_args.time_limit=50", config=path, env="gymma")
    assert result.returncode == 0, output_of(result)[-3000:]
    assert "test_return_mean" in result.stdout
    config = read_json(os.path.join(results, "sacred", "Foraging-8x8-2p-3f-v3", "qmix_ns", "1", "config.json"))
    assert (config["mac"], config["agent"], config["use_rnn"]) == ("n_mac", "rnn_ns", False)
