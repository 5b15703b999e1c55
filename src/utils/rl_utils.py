"""Return and operator maths shared by the learners."""

import torch


def build_td_lambda_targets(rewards, terminated, mask, target_qs, n_agents, gamma, td_lambda):
    """TD(lambda) targets of every step of a batch of episodes, computed backwards in time.

    Same signature and meaning as PyMARL2's function, so its users can drop it in.

    Args:
        rewards, terminated, mask: ``[B, T, 1]`` (``mask`` is 1 on real, non-padded steps).
        target_qs: ``[B, T + 1, 1]``, the target value of each step's state (step T is the
            state after the last transition; it is bootstrapped only if no step terminated).
        n_agents: kept for PyMARL2 compatibility (unused: targets here are joint values).
        gamma, td_lambda: discount and lambda; lambda 0 gives one-step targets, 1 Monte Carlo.

    Returns ``[B, T, 1]``: ``G_t = r_t + gamma * ((1 - lambda) * Q(t+1) * (1 - term_t) + lambda * G_{t+1})``
    on real steps and 0 on padding.
    """
    del n_agents
    returns = torch.zeros_like(target_qs)
    returns[:, -1] = target_qs[:, -1] * (1 - terminated.sum(dim=1))
    for t in range(returns.shape[1] - 2, -1, -1):
        bootstrap = (1 - td_lambda) * gamma * target_qs[:, t + 1] * (1 - terminated[:, t])
        returns[:, t] = td_lambda * gamma * returns[:, t + 1] + mask[:, t] * (rewards[:, t] + bootstrap)
    return returns[:, :-1]
