"""The recurrent agent with one network per agent (``rnn_ns``, EPyMARL's name): the layers
of PyMARL2's ``n_rnn`` agent, each holding every agent's weights in one tensor.

A layer's weight is ``[agents, out, in]`` and its bias ``[agents, out]``; its input rows
are ordered as the controller lays them out, agent index fastest (row ``r`` is agent ``r %
agents``), so any row count that is a multiple of the agent count works, packed sequences
included. Holding the agents' weights in one tensor makes each layer one masked weight for
the sparse trainer: its topology updates rank the connections of all agents together,
so connections move between agents (the agents' densities adapt, the layer's total stays).
Parameter names are ``n_rnn``'s (``fc1``, ``rnn``, ``fc2``).
"""

import math

import torch
import torch.nn as nn

from modules.agents.rnn_agent import RNNAgent


def _per_agent(inputs, weight, bias):
    """``inputs [n, in]`` (row r: agent r % agents) through each agent's ``weight [agents, out, in]``."""
    n_agents, out_features, in_features = weight.shape
    rows = inputs.reshape(-1, n_agents, in_features)
    return (torch.einsum("bai,aoi->bao", rows, weight) + bias).reshape(inputs.shape[0], out_features)


class StackedLinear(nn.Module):
    """One ``nn.Linear(in_features, out_features)`` per agent, initialised as ``nn.Linear`` is."""

    def __init__(self, n_agents, in_features, out_features):
        super().__init__()
        self.n_agents, self.in_features, self.out_features = n_agents, in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(n_agents, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_agents, out_features).uniform_(-bound, bound))

    def forward(self, inputs):
        return _per_agent(inputs, self.weight, self.bias)


class StackedGRUCell(nn.Module):
    """One ``nn.GRUCell(input_size, hidden_size)`` per agent: PyTorch's gate order (reset,
    update, new) and initialisation."""

    def __init__(self, n_agents, input_size, hidden_size):
        super().__init__()
        self.n_agents, self.hidden_size = n_agents, hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        gates = 3 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(n_agents, gates, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(n_agents, gates, hidden_size).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(n_agents, gates).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(n_agents, gates).uniform_(-bound, bound))

    def forward(self, inputs, hidden):
        x_r, x_z, x_n = _per_agent(inputs, self.weight_ih, self.bias_ih).chunk(3, dim=1)
        h_r, h_z, h_n = _per_agent(hidden, self.weight_hh, self.bias_hh).chunk(3, dim=1)
        reset = torch.sigmoid(x_r + h_r)
        update = torch.sigmoid(x_z + h_z)
        new = torch.tanh(x_n + reset * h_n)
        return (1.0 - update) * new + update * hidden


class NonSharedRNNAgent(RNNAgent):
    """``n_rnn``'s forward passes over per-agent layers: no weight is shared between agents."""

    def build_layers(self, input_shape, args):
        n_agents, hidden = args.n_agents, self.hidden_dim
        middle = StackedGRUCell(n_agents, hidden, hidden) if self.recurrent else StackedLinear(n_agents, hidden, hidden)
        return StackedLinear(n_agents, input_shape, hidden), middle, StackedLinear(n_agents, hidden, args.n_actions)
