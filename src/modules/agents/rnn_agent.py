"""The recurrent agent of PyMARL2 (``n_rnn``): input layer, GRU cell, output layer.

Parameter names (``fc1``, ``rnn``, ``fc2``) match PyMARL2's, so its saved agents load.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class RNNAgent(nn.Module):
    def __init__(self, input_shape, args):
        super().__init__()
        self.hidden_dim = args.rnn_hidden_dim
        self.fc1 = nn.Linear(input_shape, self.hidden_dim)
        self.rnn = nn.GRUCell(self.hidden_dim, self.hidden_dim)
        self.fc2 = nn.Linear(self.hidden_dim, args.n_actions)

    def init_hidden(self, n):
        return self.fc1.weight.new_zeros(n, self.hidden_dim)

    def forward(self, inputs, hidden):
        """One step: ``inputs [n, input]``, ``hidden [n, hidden]`` -> ``(q [n, actions], hidden)``."""
        hidden = self.rnn(F.relu(self.fc1(inputs)), hidden)
        return self.fc2(hidden), hidden

    def forward_sequence(self, inputs, hidden):
        """A whole sequence: ``inputs [n, T, input]`` -> ``q [n, T, actions]``.

        The input and output layers run once over all steps; only the GRU steps in time.
        """
        embedded = F.relu(self.fc1(inputs))
        hiddens = []
        for t in range(inputs.shape[1]):
            hidden = self.rnn(embedded[:, t], hidden)
            hiddens.append(hidden)
        return self.fc2(torch.stack(hiddens, dim=1))
