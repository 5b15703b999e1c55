"""Action selection from agent Q-values, over available actions only."""

import torch

from components.schedules import LinearSchedule


class EpsilonGreedyActionSelector:
    """Greedy over available actions, except with probability epsilon a uniformly random
    available action. Epsilon anneals linearly; test mode is greedy."""

    def __init__(self, args):
        self.schedule = LinearSchedule(args.epsilon_start, args.epsilon_finish, args.epsilon_anneal_time)
        self.test_greedy = args.test_greedy
        self.epsilon = self.schedule.eval(0)

    def exploration_rate(self, t_env, test_mode=False):
        """Epsilon at ``t_env`` (0 for greedy tests); the schedule's value is kept in ``epsilon``."""
        self.epsilon = self.schedule.eval(t_env)
        return 0.0 if (test_mode and self.test_greedy) else self.epsilon

    def select_action(self, agent_qs, avail_actions, t_env, test_mode=False):
        """``agent_qs``, ``avail_actions``: ``[batch, agents, actions]``; returns ``[batch, agents]``."""
        epsilon = self.exploration_rate(t_env, test_mode)
        available = avail_actions > 0
        masked_qs = agent_qs.masked_fill(~available, -float("inf"))
        greedy = masked_qs.argmax(dim=-1)
        # Rows with no available action (steps after an episode ended) draw from all actions;
        # callers never store those actions.
        weights = (available | ~available.any(dim=-1, keepdim=True)).float()
        random_actions = torch.multinomial(weights.reshape(-1, weights.shape[-1]), 1)
        random_actions = random_actions.view(greedy.shape)
        explore = torch.rand(greedy.shape, device=agent_qs.device) < epsilon
        return torch.where(explore, random_actions, greedy)


REGISTRY = {"epsilon_greedy": EpsilonGreedyActionSelector}
