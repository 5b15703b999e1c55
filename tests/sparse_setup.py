"""Shared builders for the sparse tests: a QMIX/VDN learner on SMAX-3m-shaped inputs and
random episode batches, without any environment."""

import torch

from components.random_episodes import SMAX_3M_ENV_INFO, random_episode_batch
from run.build import build_learner, env_shapes
from utils.config import layered_config, merge_layer, to_namespace
from utils.logging import Logger, get_console_logger

# As the run does with the default torch_threads: small matmuls stall with two threads on these machines.
torch.set_num_threads(1)


def make_args(alg="qmix", env_info=SMAX_3M_ENV_INFO, **overrides):
    """The layered config of ``alg`` on smax with ``overrides`` (nested dicts allowed) and env facts."""
    config = merge_layer(layered_config(alg, "smax"), overrides, "test overrides", allow_new_keys=False)
    config.update(env_info)
    config["seed"] = overrides.get("seed", 0)
    return to_namespace(config)


def sparse_args(method="rigl", sparsity=0.9, mixer="qmix", seed=0, optimizer="adam", agent="n_rnn",
                **sparse_overrides):
    """A small sparse QMIX (or VDN) config with the given ``sparse`` block entries."""
    block = {"enabled": True, "sparsity": sparsity, "method": method, **sparse_overrides}
    return make_args(mixer=mixer, sparse=block, t_max=10_000, batch_size=4, target_update_interval=1,
                     seed=seed, optimizer=optimizer, agent=agent)


def make_learner(args, logger=None):
    """A learner (and its controller) built the way the run builds them (run/build.py)."""
    return build_learner(args, env_shapes(args), logger or Logger(get_console_logger()))


def random_batch(args, batch_size=4, steps=10, seed=0):
    """Episodes of ``steps`` transitions with random observations, states, actions and rewards."""
    return random_episode_batch(SMAX_3M_ENV_INFO, batch_size, steps, torch.Generator().manual_seed(seed))
