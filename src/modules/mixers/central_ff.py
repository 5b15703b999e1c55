"""Weighted QMIX's central mixer (``central_ff``): an unrestricted joint-action value Q*.

A feed-forward network on the global state and the agents' utilities of a joint action,
plus a state value V(s) in place of a last bias, with no monotonicity constraint, so it can
rank joint actions in ways QMIX cannot (Rashid et al. 2020; the feed-forward central mixer
of their SMAC runs: three hidden ReLU layers of ``central_mixing_embed_dim`` units).
"""

import torch
import torch.nn as nn


class CentralFFMixer(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.n_agents = args.n_agents
        self.state_dim = args.state_shape
        width = args.central_mixing_embed_dim
        self.net = nn.Sequential(
            nn.Linear(self.state_dim + self.n_agents, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, 1),
        )
        self.V = nn.Sequential(nn.Linear(self.state_dim, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, agent_qs, states):
        """``agent_qs [B, T, agents]``, ``states [B, T, state]`` -> ``q [B, T, 1]``; like QMIX,
        ``agent_qs [B, T, K, agents]`` (several joint actions per state) gives ``[B, T, K, 1]``."""
        out_shape = (*agent_qs.shape[:-1], 1)
        states = states.reshape(-1, self.state_dim)
        agent_qs = agent_qs.reshape(states.shape[0], -1, self.n_agents)
        per_action_states = states.unsqueeze(1).expand(-1, agent_qs.shape[1], -1)
        q = self.net(torch.cat([per_action_states, agent_qs], dim=-1)) + self.V(states).unsqueeze(1)
        return q.view(out_shape)
