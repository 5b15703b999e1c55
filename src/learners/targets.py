"""Target construction, in one place for every value-based learner.

Per agent, the value of each next state is an operator over the target network's
Q-values of the available actions (``max``), or, with double Q, the target network's
value of the action the online network picks. The learner mixes those values with its
target mixer and turns them into TD(lambda) returns with :func:`build_td_lambda_targets`.
"""

import torch

from utils.rl_utils import build_td_lambda_targets


class TargetBuilder:
    def __init__(self, args):
        self.double_q = args.double_q
        self.gamma = args.gamma
        self.n_agents = args.n_agents
        self.td_lambda = args.td_lambda

    def agent_next_values(self, target_agent_qs, online_agent_qs, avail_actions):
        """Per-agent state values ``[B, T, agents]`` from Qs ``[B, T, agents, actions]``."""
        available = avail_actions > 0
        if self.double_q:
            picked = online_agent_qs.masked_fill(~available, -float("inf")).argmax(dim=-1, keepdim=True)
            return torch.gather(target_agent_qs, -1, picked).squeeze(-1)
        best = target_agent_qs.masked_fill(~available, -float("inf")).max(dim=-1).values
        return torch.where(available.any(dim=-1), best, torch.zeros_like(best))

    def lambda_at(self, t_env):
        return self.td_lambda

    def returns(self, rewards, terminated, mask, target_values, t_env):
        """TD(lambda) returns ``[B, T, 1]`` from mixed target values ``[B, T + 1, 1]``."""
        return build_td_lambda_targets(
            rewards, terminated, mask, target_values, self.n_agents, self.gamma, self.lambda_at(t_env)
        )
