"""Every config of issue 5 trains a few hundred env steps on SMAX 3m through src/main.py (in
this process, to share compiled env steps), each MAST part switches off alone with `with`,
and the new keys are checked before training."""

import json
import os
import tempfile

import pytest
import torch

import main
from components import BUFFER_REGISTRY
from components.replay_buffer import ReplayBuffer
from learners.targets import TargetBuilder
from run.validation import validate_config
from utils.config import ConfigError, layered_config, merge_layer

# A few hundred env steps: 8 envs per runner call (SMAX's default), updates on 8 episodes from
# the first call on, learner stats at every update, RigL topology updates at every update.
TINY = [
    "t_max=300", "batch_size=8", "buffer_size=64", "on_policy_buffer_size=16", "test_nepisode=8",
    "test_interval=200", "log_interval=200", "runner_log_interval=200", "learner_log_interval=100",
    "target_update_interval=8", "sparse.update_interval=1", "seed=1",
]

DENSE = ["qmix", "vdn", "ow_qmix", "cw_qmix", "res_qmix"]
MAST = ["mast_qmix", "mast_vdn", "mast_ow_qmix", "mast_cw_qmix", "mast_res_qmix",
        "mast_qmix_multistep_first", "mast_qmix_onestep_first"]
LEARNER_METRICS = {"wqmix_learner": ["loss_central", "wqmix_weight_mean"], "res_learner": ["loss_res"],
                   "nq_learner": []}


@pytest.fixture(scope="module", autouse=True)
def shared_jax_compilation_cache():
    """A tiny run is mostly the compilation of SMAX's step: share it between the runs through
    JAX's persistent cache (the directory the subprocess runs of tests/cli_runs.py use)."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    settings = {"jax_compilation_cache_dir": os.path.join(tempfile.gettempdir(), "mast-tests-jax-cache"),
                "jax_persistent_cache_min_compile_time_secs": 0}
    saved = {name: getattr(jax.config, name) for name in settings}
    for name, value in settings.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()
    yield
    for name, value in saved.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()


def train(results, config, *overrides, name="run"):
    """``python src/main.py --config=<config> --env-config=smax with TINY ...``; returns
    (config.json, info.json) of the run."""
    argv = ["src/main.py", f"--config={config}", "--env-config=smax", "with", *TINY, *overrides,
            f"name={name}", f"local_results_path={results}"]
    assert main.main(argv) == 0
    run_dir = os.path.join(results, "sacred", "3m", name, "1")
    with open(os.path.join(run_dir, "config.json")) as config_file, open(os.path.join(run_dir, "info.json")) as info:
        return json.load(config_file), json.load(info)


@pytest.mark.slow
@pytest.mark.parametrize("config", DENSE + MAST)
def test_config_trains_on_smax_3m(config, tmp_path):
    run_config, info = train(str(tmp_path), config)
    assert info["loss_td"] and info["test_return_mean"]
    for key in LEARNER_METRICS[run_config["learner"]] + ["td_lambda"]:
        assert info[key], key
    if config.startswith("mast_"):
        # MAST-CW-QMIX keeps Q* at QMIX's greedy action: the joint-action Soft Mellowmax measured
        # below it there, and above it for MAST-OW-QMIX (docs/results.md).
        operator = "max" if config == "mast_cw_qmix" else "soft_mellowmax"
        assert run_config["buffer"] == "dual" and run_config["target_operator"] == operator
        assert run_config["sparse"]["enabled"] and run_config["sparse"]["method"] == "rigl"
        assert all(abs(value - 0.9) < 0.02 for value in info["sparsity"])
    else:
        assert "sparsity" not in info


def takes_double_q_max_targets(config, info, seen):
    """The run's next-state values are the target Qs at the online network's greedy available
    action (double Q's max), worked out here from the inputs of its first target build."""
    target_qs, online_qs, avail_actions, values = seen["next_values"]
    greedy = online_qs.masked_fill(avail_actions == 0, float("-inf")).argmax(dim=-1, keepdim=True)
    by_hand = torch.gather(target_qs, -1, greedy).squeeze(-1)
    by_hand = torch.where((avail_actions > 0).any(dim=-1), by_hand, torch.zeros_like(by_hand))
    return config["double_q"] and torch.allclose(values, by_hand)


def stores_in_one_plain_buffer(config, info, seen):
    """The run built a single uniform ReplayBuffer (no recent-episode FIFO) and filled it."""
    buffer = seen["buffer"]
    return type(buffer) is ReplayBuffer and buffer.episodes_in_buffer >= 8


def spy_on_the_run(monkeypatch):
    """``{"next_values": (target Qs, online Qs, avail, values) of the run's first target build,
    "buffer": the replay buffer it built}``, filled while the run trains."""
    seen = {}
    next_values = TargetBuilder.agent_next_values

    def recording_next_values(self, target_qs, online_qs, avail_actions, *rest):
        values = next_values(self, target_qs, online_qs, avail_actions, *rest)
        seen.setdefault("next_values", (target_qs, online_qs, avail_actions, values))
        return values

    monkeypatch.setattr(TargetBuilder, "agent_next_values", recording_next_values)
    for name, factory in list(BUFFER_REGISTRY.items()):
        def recording_factory(*args, factory=factory):
            seen["buffer"] = factory(*args)
            return seen["buffer"]
        monkeypatch.setitem(BUFFER_REGISTRY, name, recording_factory)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("switch, check", [
    ("sparse.enabled=False", lambda config, info, seen: "sparsity" not in info),
    ("target_operator=max", takes_double_q_max_targets),
    ("td_lambda_schedule=[]", lambda config, info, seen: set(info["td_lambda"]) == {0.6}),
    ("buffer=episode", stores_in_one_plain_buffer),
    ("td_lambda_schedule=[[0,0.6],[200,0.0]]", lambda config, info, seen: info["td_lambda"][0] == 0.6
     and info["td_lambda"][-1] == 0.0 and info["td_lambda_T"][-1] >= 200),
])
def test_each_mast_part_switches_off_alone(switch, check, tmp_path, monkeypatch):
    seen = spy_on_the_run(monkeypatch)
    config, info = train(str(tmp_path), "mast_qmix", switch)
    assert check(config, info, seen)
    others = {"sparse": config["sparse"]["enabled"], "target_operator": config["target_operator"],
              "buffer": config["buffer"], "td_lambda_schedule": config["td_lambda_schedule"]}
    assert sum(value != expected for value, expected in zip(others.values(), (
        True, "soft_mellowmax", "dual", [[0, 0.0], [500000, 0.6]]))) == 1  # only the switched part changed


@pytest.mark.slow
def test_a_mast_wqmix_run_resumes_from_its_checkpoint(tmp_path):
    """Central networks, sparse masks and both replay buffers go through a checkpoint."""
    results = str(tmp_path)
    train(results, "mast_cw_qmix", "save_model=True", "save_model_interval=100000", "save_buffer=True", name="first")
    (token,) = os.listdir(os.path.join(results, "models"))
    checkpoint = os.path.join(results, "models", token)
    (step,) = [int(name) for name in os.listdir(checkpoint)]  # the end-of-training save
    _, info = train(results, "mast_cw_qmix", "t_max=600", f"checkpoint_path={checkpoint}", name="resumed")
    assert min(info["loss_central_T"]) > step and all(abs(value - 0.9) < 0.02 for value in info["sparsity"])


def resolved(config):
    return merge_layer(layered_config(config, "smax"), {}, "the test", allow_new_keys=False)


@pytest.mark.parametrize("config, schedule", [
    ("mast_qmix_multistep_first", [[0, 0.6], [500000, 0.0]]),
    ("mast_qmix_onestep_first", [[0, 0.0], [500000, 0.6]]),
])
def test_hybrid_order_configs_differ_from_mast_qmix_only_in_the_schedule(config, schedule):
    variant, base = resolved(config), resolved("mast_qmix")
    assert variant["td_lambda_schedule"] == schedule
    differing = {key for key in base if variant[key] != base[key]}
    assert differing <= {"name", "td_lambda_schedule"}


@pytest.mark.parametrize("dense, mast", [
    ("qmix", "mast_qmix"), ("vdn", "mast_vdn"), ("ow_qmix", "mast_ow_qmix"), ("cw_qmix", "mast_cw_qmix"),
    ("res_qmix", "mast_res_qmix"),
])
def test_mast_configs_are_their_dense_configs_plus_the_mast_parts(dense, mast):
    mast_parts = {"name", "sparse", "target_operator", "sm_omega", "sm_alpha", "sm_scale", "td_lambda_schedule", "buffer",
                  "on_policy_buffer_size", "on_policy_fraction"}
    base, variant = resolved(dense), resolved(mast)
    assert {key for key in base if variant[key] != base[key]} <= mast_parts


@pytest.mark.parametrize("config, interval", [
    ("mast_qmix", 100), ("mast_vdn", 25), ("mast_ow_qmix", 25), ("mast_cw_qmix", 25), ("mast_res_qmix", 25),
])
def test_each_mast_config_keeps_mast_qmixs_sparse_block_but_its_own_topology_interval(config, interval):
    sparse, qmix_sparse = resolved(config)["sparse"], resolved("mast_qmix")["sparse"]
    assert sparse["update_interval"] == interval
    assert {key: value for key, value in sparse.items() if key != "update_interval"} == \
        {key: value for key, value in qmix_sparse.items() if key != "update_interval"}


@pytest.mark.parametrize("overrides, message", [
    ({"target_operator": "softmax"}, "target_operator 'softmax' is not one of"),
    ({"sm_omega": 0.0}, "sm_omega must be positive"),
    ({"sm_alpha": -1.0}, "sm_alpha must be >= 0"),
    ({"wqmix_weighting": "both"}, "wqmix_weighting 'both' is not one of"),
    ({"wqmix_alpha": 0.0}, r"wqmix_alpha must lie in \(0, 1\]"),
    ({"central_mixer": "attention"}, "central_mixer 'attention' is not one of"),
    ({"res_beta": -0.5}, "res_beta must be >= 0"),
    ({"res_lambda": -0.1}, "res_lambda must be >= 0"),
    ({"central_mixing_embed_dim": 0}, "central_mixing_embed_dim must be positive"),
])
def test_bad_values_of_the_new_keys_are_refused(overrides, message):
    config = merge_layer(layered_config("mast_cw_qmix", "smax"), overrides, "the test", allow_new_keys=False)
    with pytest.raises(ConfigError, match=message):
        validate_config(config)
