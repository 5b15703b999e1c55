"""QMIX: a mixing network whose weights come from hypernetworks of the global state.

The mixing weights pass through ``abs``, so ``q_tot`` is monotone (non-decreasing) in
every agent's Q. Layer shapes follow PyMARL2's QMIX with two-layer hypernetworks.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def _hypernet(state_dim, hidden, out):
    return nn.Sequential(nn.Linear(state_dim, hidden), nn.ReLU(), nn.Linear(hidden, out))


class QMixer(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.n_agents = args.n_agents
        self.embed_dim = args.mixing_embed_dim
        state_dim = args.state_shape
        self.hyper_w_1 = _hypernet(state_dim, args.hypernet_embed, self.embed_dim * self.n_agents)
        self.hyper_w_final = _hypernet(state_dim, args.hypernet_embed, self.embed_dim)
        self.hyper_b_1 = nn.Linear(state_dim, self.embed_dim)
        self.V = _hypernet(state_dim, self.embed_dim, 1)

    def forward(self, agent_qs, states):
        """``agent_qs [B, T, agents]``, ``states [B, T, state]`` -> ``q_tot [B, T, 1]``.

        Several joint actions per state, ``agent_qs [B, T, K, agents]``, give ``[B, T, K, 1]``
        with the hypernetworks run once per state.
        """
        out_shape = (*agent_qs.shape[:-1], 1)
        states = states.reshape(-1, states.shape[-1])
        agent_qs = agent_qs.reshape(states.shape[0], -1, self.n_agents)
        w1 = torch.abs(self.hyper_w_1(states)).view(-1, self.n_agents, self.embed_dim)
        b1 = self.hyper_b_1(states).view(-1, 1, self.embed_dim)
        hidden = F.elu(torch.bmm(agent_qs, w1) + b1)
        w_final = torch.abs(self.hyper_w_final(states)).view(-1, self.embed_dim, 1)
        v = self.V(states).view(-1, 1, 1)
        q_tot = torch.bmm(hidden, w_final) + v
        return q_tot.view(out_shape)
