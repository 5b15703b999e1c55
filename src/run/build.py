"""Building a run's parts from its config: the runner with its env, the controller and
learner, and (for training only) the replay buffer.

The env's sizes reach the config in one place, :func:`set_env_shapes`, which
:func:`build_learner` calls: whoever builds a learner (the run, a benchmark, a test) gets
the same ``args``.
"""

import numpy as np

from components import BUFFER_REGISTRY
from components.episode_batch import EpisodeBatch, build_scheme
from controllers import REGISTRY as MAC_REGISTRY
from learners import REGISTRY as LEARNER_REGISTRY
from runners import REGISTRY as RUNNER_REGISTRY
from sparse import SparseTrainer

ENV_SHAPE_KEYS = ("n_agents", "n_actions", "state_shape", "obs_shape", "episode_limit")


def set_env_shapes(args, env_info):
    """Copy the env's sizes (agents, actions, state, observation, episode limit) into ``args``."""
    for key in ENV_SHAPE_KEYS:
        setattr(args, key, env_info[key])


def env_shapes(args):
    """The env's sizes as :func:`set_env_shapes` stored them, in ``get_env_info()``'s form."""
    return {key: getattr(args, key) for key in ENV_SHAPE_KEYS}


def build_learner(args, env_info, logger):
    """The controller and learner (sparse when ``sparse.enabled``) for an env described by
    ``env_info``; needs no env.

    The controller reads the scheme with its derived fields (one-hot actions), which a
    one-step episode batch expands.
    """
    set_env_shapes(args, env_info)
    scheme, groups, preprocess = build_scheme(env_info)
    full_scheme = EpisodeBatch(scheme, groups, 1, 1, preprocess).scheme
    mac = MAC_REGISTRY[args.mac](full_scheme, groups, args)
    learner = LEARNER_REGISTRY[args.learner](mac, full_scheme, logger, args)
    if args.sparse.enabled:
        # It masks the learner's networks and their targets before any use.
        learner.attach_sparse(SparseTrainer(learner.pairs, learner.optimiser, args, learner.forward_only_passes()))
    return learner


def build_runner_and_learner(args, logger):
    """The runner (its env started) and the learner, wired together, on ``args.device``."""
    runner = RUNNER_REGISTRY[args.runner](args, logger)
    env_info = runner.get_env_info()
    learner = build_learner(args, env_info, logger)
    runner.setup(*build_scheme(env_info), learner.mac)
    learner.to(args.device)
    return runner, learner


def build_replay_buffer(args):
    """The replay buffer of ``args.buffer`` for the env whose sizes ``args`` holds (training only:
    an evaluation never allocates one)."""
    scheme, groups, preprocess = build_scheme(env_shapes(args))
    device = "cpu" if args.buffer_cpu_only else args.device
    return BUFFER_REGISTRY[args.buffer](
        args, scheme, groups, args.episode_limit + 1, preprocess, device, np.random.default_rng(args.seed)
    )
