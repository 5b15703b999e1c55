"""Shared builders for the sparse tests: a QMIX/VDN learner on SMAX-3m-shaped inputs and
random episode batches, without any environment."""

import torch

from components.episode_batch import EpisodeBatch
from run import build_learner, build_scheme
from utils.config import layered_config, merge_layer, to_namespace
from utils.logging import Logger, get_console_logger

# As run.py does with the default torch_threads: small matmuls stall with two threads on these machines.
torch.set_num_threads(1)

# SMAX 3m, as jaxmarl reports it.
ENV_INFO_3M = {"n_agents": 3, "n_actions": 8, "state_shape": 72, "obs_shape": 75, "episode_limit": 100}


def make_args(alg="qmix", env_info=ENV_INFO_3M, **overrides):
    """The layered config of ``alg`` on smax with ``overrides`` (nested dicts allowed) and env facts."""
    config = merge_layer(layered_config(alg, "smax"), overrides, "test overrides", allow_new_keys=False)
    config.update(env_info)
    config["seed"] = overrides.get("seed", 0)
    return to_namespace(config)


def sparse_args(method="rigl", sparsity=0.9, mixer="qmix", seed=0, optimizer="adam", **sparse_overrides):
    """A small sparse QMIX (or VDN) config with the given ``sparse`` block entries."""
    block = {"enabled": True, "sparsity": sparsity, "method": method, **sparse_overrides}
    return make_args(mixer=mixer, sparse=block, t_max=10_000, batch_size=4, target_update_interval=1,
                     seed=seed, optimizer=optimizer)


def make_learner(args, logger=None):
    """A learner (and its controller) built the way run.py builds them."""
    env_info = {key: getattr(args, key) for key in ENV_INFO_3M}
    return build_learner(args, env_info, logger or Logger(get_console_logger()))


def random_batch(args, batch_size=4, steps=10, seed=0):
    """Episodes of ``steps`` transitions with random observations, states, actions and rewards."""
    generator = torch.Generator().manual_seed(seed)
    env_info = {key: getattr(args, key) for key in ENV_INFO_3M}
    scheme, groups, preprocess = build_scheme(env_info)
    batch = EpisodeBatch(scheme, groups, batch_size, steps + 1, preprocess)
    n_agents, n_actions = args.n_agents, args.n_actions
    terminated = torch.zeros(batch_size, steps + 1, 1)
    terminated[:, steps - 1] = 1
    batch.update({
        "obs": torch.randn(batch_size, steps + 1, n_agents, args.obs_shape, generator=generator),
        "state": torch.randn(batch_size, steps + 1, args.state_shape, generator=generator),
        "actions": torch.randint(n_actions, (batch_size, steps + 1, n_agents, 1), generator=generator),
        "avail_actions": torch.ones(batch_size, steps + 1, n_agents, n_actions, dtype=torch.int),
        "reward": torch.randn(batch_size, steps + 1, 1, generator=generator),
        "terminated": terminated,
    })
    return batch
