"""The sparse block of the YAML: validation, the baseline configs, any learner made sparse."""

import pytest

from envs.smax import SMAXCore

from main import prepare_config
from run.validation import validate_config
from sparse_setup import make_args, make_learner, random_batch
from utils.config import ConfigError, layered_config


def prepare(alg, *overrides):
    return prepare_config(["main.py", f"--config={alg}", "--env-config=smax", "with", *overrides])


@pytest.mark.parametrize("override, message", [
    ("sparse.sparsity=1.5", r"sparse.sparsity must lie in \[0, 1\), got 1.5"),
    ("sparse.sparsity=1.0", r"sparse.sparsity must lie in \[0, 1\), got 1.0"),
    ("sparse.sparsity=-0.1", r"sparse.sparsity must lie in \[0, 1\), got -0.1"),
    ("sparse.method=snip", "sparse.method 'snip' is not one of: static, set, rigl"),
    ("sparse.distribution=gaussian", "sparse.distribution 'gaussian' is not one of: uniform, erk"),
    ("sparse.drop_schedule=linear", "sparse.drop_schedule 'linear' is not one of: cosine, constant"),
    ("sparse.init=lottery", "sparse.init 'lottery' is not one of: random, magnitude"),
    ("sparse.init_scale=he", "sparse.init_scale 'he' is not one of: dense, fan_in"),
    ("sparse.network_sparsity.agent=1.0", r"sparse.network_sparsity.agent must be null or lie in \[0, 1\), got 1.0"),
    ("sparse.network_sparsity.critic=0.5", "unknown config key 'critic'"),
    ("sparse.update_interval=0", "sparse.update_interval must be positive"),
    ("sparse.drop_fraction=1.5", r"sparse.drop_fraction must lie in \[0, 1\]"),
    ("sparse.stop_fraction=2", r"sparse.stop_fraction must lie in \[0, 1\]"),
    ("sparse.dense_layers=[3]", "sparse.dense_layers must be a list of layer names"),
    ("sparse.density=0.1", "unknown config key 'density'"),
    ("sparse.sparsity=high", "sparse.sparsity' must be float"),
])
def test_invalid_sparse_values_stop_before_training_with_a_clear_message(override, message):
    with pytest.raises(ConfigError, match=message):
        prepare("rigl_qmix", override)


@pytest.mark.parametrize("alg, method", [("static_qmix", "static"), ("set_qmix", "set"), ("rigl_qmix", "rigl")])
def test_sparse_baseline_configs_are_qmix_with_a_sparse_block(alg, method):
    config = layered_config(alg, "smax")
    qmix = layered_config("qmix", "smax")
    validate_config(config)
    assert config["sparse"]["enabled"] and config["sparse"]["sparsity"] == 0.9
    assert config["sparse"]["method"] == method
    assert config["buffer"] == "episode" and config["target_operator"] == "max"
    differing = {key for key in qmix if config[key] != qmix[key]}
    assert differing == {"name", "sparse"}


def test_the_default_is_dense_and_any_algorithm_turns_sparse_by_override():
    assert not layered_config("qmix", "smax")["sparse"]["enabled"]
    config, _ = prepare("vdn", "sparse.enabled=True", "sparse.sparsity=0.95", "sparse.method=rigl")
    assert config["sparse"] == {**layered_config("vdn", "smax")["sparse"], "enabled": True, "sparsity": 0.95}


def parameters(learner, counted):
    return sum(counted(p) for net in (learner.mac.agent, learner.mixer) for p in net.parameters())


def test_tiny_qmix_has_about_the_parameters_of_the_90_percent_sparse_qmix_on_3m():
    sparse = make_learner(make_args("rigl_qmix"))
    tiny = make_learner(make_args("tiny_qmix"))
    assert tiny.sparse is None
    sparse_count = parameters(sparse, lambda p: int(p.count_nonzero()))
    tiny_count = parameters(tiny, lambda p: p.numel())
    assert sparse_count == 6041 and tiny_count == 6008  # the figures in tiny_qmix.yaml
    assert abs(tiny_count - sparse_count) / sparse_count < 0.02


@pytest.mark.parametrize("map_name", ["2s3z", "3s5z"])
def test_the_per_map_tiny_qmix_has_about_the_parameters_of_the_sparse_qmix_on_its_map(map_name):
    env_info = SMAXCore(map_name, 100, 10.0, 1.0, normalize_state=True).env_info()
    sparse = make_learner(make_args("rigl_qmix", env_info=env_info))
    tiny = make_learner(make_args(f"tiny_qmix_{map_name}", env_info=env_info))
    sparse_count = parameters(sparse, lambda p: int(p.count_nonzero()))
    tiny_count = parameters(tiny, lambda p: p.numel())
    assert abs(tiny_count - sparse_count) / sparse_count < 0.025  # the sizing rule lands within 2.1% on both maps
    three_m_widths = parameters(make_learner(make_args("tiny_qmix", env_info=env_info)), lambda p: p.numel())
    assert abs(three_m_widths - sparse_count) / sparse_count > 0.1  # 3m's widths do not fit these maps


def test_a_learner_with_networks_of_its_own_is_made_sparse_unchanged():
    learner = make_learner(make_args("ow_qmix", sparse={"enabled": True, "method": "rigl", "update_interval": 1},
                                     batch_size=4))
    masked = set(learner.sparse.weights)
    assert {"agent.rnn.weight_hh", "mixer.hyper_w_1.0.weight", "central_agent.rnn.weight_hh",
            "central_mixer.net.0.weight"} <= masked
    assert set(learner.sparse.target_weights) == masked
    batch = random_batch(learner.args)
    for update in range(3):
        learner.train(batch, t_env=update, episode_num=update + 1)
    assert learner.sparse.sparsity() >= 0.9 - 1e-4
