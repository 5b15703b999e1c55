"""Episode batches filled with random content, for tests and benchmarks that need a learner's
inputs without running an environment."""

import torch

from components.episode_batch import EpisodeBatch, build_scheme

# SMAX 3m's shapes, as jaxmarl reports them: the default env of the tests and benchmarks.
SMAX_3M_ENV_INFO = {"n_agents": 3, "n_actions": 8, "state_shape": 72, "obs_shape": 75, "episode_limit": 100}


def random_episode_batch(env_info, episodes, steps, generator):
    """``episodes`` episodes of ``steps`` transitions (all actions available, terminal at the last
    step) with random observations, states, actions and rewards drawn from ``generator``."""
    n_agents, n_actions = env_info["n_agents"], env_info["n_actions"]
    scheme, groups, preprocess = build_scheme(env_info)
    batch = EpisodeBatch(scheme, groups, episodes, steps + 1, preprocess)
    terminated = torch.zeros(episodes, steps + 1, 1)
    terminated[:, steps - 1] = 1
    batch.update({
        "obs": torch.randn(episodes, steps + 1, n_agents, env_info["obs_shape"], generator=generator),
        "state": torch.randn(episodes, steps + 1, env_info["state_shape"], generator=generator),
        "actions": torch.randint(n_actions, (episodes, steps + 1, n_agents, 1), generator=generator),
        "avail_actions": torch.ones(episodes, steps + 1, n_agents, n_actions, dtype=torch.int),
        "reward": torch.randn(episodes, steps + 1, 1, generator=generator),
        "terminated": terminated,
    })
    return batch
