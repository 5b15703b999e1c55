"""Shared builders for the WQMIX and RES tests: a learner on tiny hand-made shapes (two agents,
three actions) whose networks the test replaces by known Q-values, and a hand-made episode."""

import torch

from components.episode_batch import EpisodeBatch, build_scheme
from modules.mixers.vdn import VDNMixer
from sparse_setup import make_args, make_learner

ENV_SMALL = {"n_agents": 2, "n_actions": 3, "state_shape": 4, "obs_shape": 5, "episode_limit": 2}


def small_learner(alg, **overrides):
    """The learner of ``alg`` (one-step targets unless overridden) on ENV_SMALL shapes."""
    args = make_args(alg, env_info=ENV_SMALL, **{"td_lambda": 0.0, **overrides})
    return make_learner(args), args


def with_known_qs(controller, qs):
    """Make ``controller.unroll`` return ``qs`` (``[B, T, agents, actions]``)."""
    controller.unroll = lambda batch, inputs=None: qs


def with_sum_mixers(learner, *names):
    """Replace the named mixers of ``learner`` by VDN sums, so joint values are easy to work out."""
    for name in names:
        setattr(learner, name, VDNMixer(None))


def hand_batch(actions, rewards, terminated=(0, 0), avail_actions=None):
    """One episode of two transitions (three time slots) of ENV_SMALL.

    ``actions``: each slot's joint action, e.g. ``[(1, 0), (0, 1), (0, 0)]``; ``rewards`` and
    ``terminated``: per transition.
    """
    scheme, groups, preprocess = build_scheme(ENV_SMALL)
    batch = EpisodeBatch(scheme, groups, 1, 3, preprocess)
    if avail_actions is None:
        avail_actions = torch.ones(1, 3, 2, 3, dtype=torch.int)
    batch.update({
        "obs": torch.zeros(1, 3, 2, 5),
        "state": torch.arange(12, dtype=torch.float32).view(1, 3, 4),
        "avail_actions": avail_actions,
        "actions": torch.tensor(actions).view(1, 3, 2, 1),
        "reward": torch.tensor([*rewards, 0.0]).view(1, 3, 1),
        "terminated": torch.tensor([*terminated, 0]).view(1, 3, 1),
    })
    return batch
