"""The recurrent agent of PyMARL2 (``n_rnn``): input layer, GRU cell, output layer.

With ``use_rnn: False`` the GRU cell is EPyMARL's feed-forward layer instead (a linear layer
and a ReLU, no memory: the hidden state passed in is ignored), EPyMARL's QMIX and VDN agent.
Parameter names (``fc1``, ``rnn``, ``fc2``) match PyMARL2's and EPyMARL's, so their saved
agents load.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


class RNNAgent(nn.Module):
    def __init__(self, input_shape, args):
        super().__init__()
        self.hidden_dim = args.rnn_hidden_dim
        self.recurrent = args.use_rnn
        self.fc1, self.rnn, self.fc2 = self.build_layers(input_shape, args)

    def build_layers(self, input_shape, args):
        """The input layer, GRU cell (or linear layer) and output layer, one set shared by every agent."""
        hidden = self.hidden_dim
        middle = nn.GRUCell(hidden, hidden) if self.recurrent else nn.Linear(hidden, hidden)
        return nn.Linear(input_shape, hidden), middle, nn.Linear(hidden, args.n_actions)

    def init_hidden(self, n):
        return self.fc1.weight.new_zeros(n, self.hidden_dim)

    def forward(self, inputs, hidden):
        """One step: ``inputs [n, input]``, ``hidden [n, hidden]`` -> ``(q [n, actions], hidden)``."""
        features = F.relu(self.fc1(inputs))
        hidden = self.rnn(features, hidden) if self.recurrent else F.relu(self.rnn(features))
        return self.fc2(hidden), hidden

    def forward_sequence(self, inputs, hidden, lengths=None):
        """A whole sequence: ``inputs [n, T, input]`` -> ``q [n, T, actions]``.

        ``lengths [n]`` (on the CPU, non-increasing; None: every row is T steps long) are
        the rows' real lengths: the rows are packed (torch's ``PackedSequence``) so that
        every layer runs on real steps only and the GRU's step t on the rows still inside
        their sequence, a leading block. Qs after a row's end are 0 (a row of length 0 is
        computed for one step: its outputs are padding all the same).
        """
        n, steps = inputs.shape[:2]
        if lengths is None:
            lengths = torch.full((n,), steps)
        packed = pack_padded_sequence(inputs, lengths.clamp(min=1), batch_first=True)
        features = F.relu(self.fc1(packed.data))
        if self.recurrent:
            hiddens = []
            for step_input in features.split(packed.batch_sizes.tolist()):
                hidden = self.rnn(step_input, hidden[: step_input.shape[0]])
                hiddens.append(hidden)
            features = torch.cat(hiddens)
        else:
            features = F.relu(self.rnn(features))
        qs = PackedSequence(self.fc2(features), packed.batch_sizes)
        return pad_packed_sequence(qs, batch_first=True, total_length=steps)[0]
