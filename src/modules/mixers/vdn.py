"""VDN: the joint value is the sum of the agents' values."""

import torch.nn as nn


class VDNMixer(nn.Module):
    def __init__(self, args):
        super().__init__()

    def forward(self, agent_qs, states):
        """``agent_qs [..., agents]`` -> ``q_tot [..., 1]`` (states unused)."""
        return agent_qs.sum(dim=-1, keepdim=True)
