"""Whole-episode collection in one jitted JAX call (the vectorized runner's default on SMAX)
against the torch path it replaces: the same greedy episodes from the same weights and env
keys, exploration over available actions only, and its key saved with the runner."""

import numpy as np
import pytest
import torch

from components.episode_batch import EpisodeBatch, build_scheme
from controllers import REGISTRY as MAC_REGISTRY
from runners import REGISTRY as RUNNER_REGISTRY
from utils.config import layered_config, to_namespace
from utils.logging import Logger, get_console_logger


def vectorized_runner(jit_collection, map_name="3m", seed=3, max_steps=30, agent_seed=0, agent="n_rnn", use_rnn=True):
    config = layered_config("qmix", "smax")
    config["env_args"].update(map_name=map_name, max_steps=max_steps)
    config.update(seed=seed, jit_collection=jit_collection, batch_size_run=4, agent=agent, use_rnn=use_rnn)
    args = to_namespace(config)
    args.device = "cpu"
    runner = RUNNER_REGISTRY["vectorized"](args, Logger(get_console_logger("test")))
    info = runner.get_env_info()
    args.n_agents, args.n_actions = info["n_agents"], info["n_actions"]
    scheme, groups, preprocess = build_scheme(info)
    torch.manual_seed(agent_seed)
    mac = MAC_REGISTRY["n_mac"](EpisodeBatch(scheme, groups, 1, 1, preprocess).scheme, groups, args)
    runner.setup(scheme, groups, preprocess, mac)
    return runner


@pytest.mark.parametrize("agent, use_rnn, maps", [
    ("n_rnn", True, ("3m", "2s3z")), ("rnn_ns", True, ("3m", "2s3z")),
    ("n_rnn", False, ("2s3z",)), ("rnn_ns", False, ("2s3z",)),  # EPyMARL's feed-forward agent
])
def test_greedy_episodes_equal_the_torch_path(agent, use_rnn, maps):
    for map_name in maps:
        jitted, stepped = (vectorized_runner(jit, map_name, agent=agent, use_rnn=use_rnn) for jit in (True, False))
        assert jitted.rollout is not None and stepped.rollout is None
        for _ in range(2):  # the env keys advance alike from one call to the next
            from_jax, from_torch = jitted.run(test_mode=True), stepped.run(test_mode=True)
            assert from_jax["filled"].sum() > 4 * 3  # real episodes, not one step each
            for key in from_torch.data:
                assert torch.allclose(from_jax[key].float(), from_torch[key].float(), atol=1e-5), key
        assert jitted.logger.latest("test_return_mean") == stepped.logger.latest("test_return_mean")


def test_exploration_picks_available_actions_and_counts_env_steps():
    runner = vectorized_runner(True)
    batch = runner.run(test_mode=False)  # t_env 0: epsilon 1, every action random
    acted = batch["filled"][:, 1:, 0].bool()  # a step with an action is followed by a filled one
    actions = batch["actions"][:, :-1, :, 0][acted]
    avail = batch["avail_actions"][:, :-1][acted]
    assert torch.gather(avail, -1, actions.unsqueeze(-1)).all()
    assert len(set(actions.view(-1).tolist())) > 3  # random, not one greedy action
    assert runner.t_env == int(acted.sum())
    assert runner.logger.latest("epsilon") is None or runner.mac.epsilon == 1.0


def test_the_exploration_key_is_saved_and_restored():
    runner = vectorized_runner(True)
    state = runner.state_dict()
    first = runner.run(test_mode=False)
    restored = vectorized_runner(True, seed=99)
    restored.load_state_dict(state)
    again = restored.run(test_mode=False)
    assert torch.equal(first["actions"], again["actions"]) and torch.equal(first["obs"], again["obs"])
    assert not np.array_equal(runner.state_dict()["rollout"]["key"], state["rollout"]["key"])
