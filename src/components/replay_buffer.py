"""Replay buffers of whole episodes. Capacity and sampling are counted in episodes.

A sampled batch is ordered longest episode first and cut at its longest episode
(:func:`gather_longest_first`), the layout the learner's recurrent unroll wants.
"""

import numpy as np
import torch

from components.episode_batch import EpisodeBatch


class ReplayBuffer(EpisodeBatch):
    """A ring buffer of episodes; sampling is uniform over the episodes stored so far."""

    def __init__(self, scheme, groups, buffer_size, max_seq_length, preprocess=None, device="cpu", rng=None):
        super().__init__(scheme, groups, buffer_size, max_seq_length, preprocess=preprocess, device=device)
        self.buffer_size = buffer_size
        self.insert_index = 0
        self.episodes_in_buffer = 0
        self.rng = rng if rng is not None else np.random.default_rng()
        self.lengths = np.zeros(buffer_size, np.int64)  # filled steps of the episode in each slot

    def insert_episode_batch(self, batch):
        """Store every episode of ``batch``, overwriting the oldest when full."""
        positions = (self.insert_index + np.arange(batch.batch_size)) % self.buffer_size
        index = torch.as_tensor(positions, device=self.device)
        for key, value in batch.data.items():
            self.data[key][index, : batch.max_seq_length] = value.to(self.device)
            if batch.max_seq_length < self.max_seq_length:
                self.data[key][index, batch.max_seq_length:] = 0
        self.lengths[positions] = batch["filled"][:, :, 0].sum(dim=1).cpu().numpy()
        self.insert_index = int((self.insert_index + batch.batch_size) % self.buffer_size)
        self.episodes_in_buffer = min(self.episodes_in_buffer + batch.batch_size, self.buffer_size)

    def can_sample(self, batch_size):
        return self.episodes_in_buffer >= batch_size

    def sample(self, batch_size):
        """``batch_size`` distinct stored episodes, uniformly at random, longest first."""
        return gather_longest_first([(self, self.draw(batch_size))])

    def draw(self, batch_size):
        """The slots of ``batch_size`` distinct stored episodes, uniformly at random."""
        if not self.can_sample(batch_size):
            raise ValueError(f"cannot sample {batch_size} episodes from a buffer holding {self.episodes_in_buffer}")
        return np.sort(self.rng.choice(self.episodes_in_buffer, batch_size, replace=False))

    def state_dict(self):
        """Everything needed to restore the buffer exactly (contents, position, RNG)."""
        return {
            "buffer_size": self.buffer_size,
            "data": {key: value[: self.episodes_in_buffer].clone() for key, value in self.data.items()},
            "insert_index": self.insert_index,
            "episodes_in_buffer": self.episodes_in_buffer,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state):
        if "buffer_size" not in state:
            raise ValueError("its replay buffer is a dual buffer (buffer=dual), and this run has one buffer")
        if state["buffer_size"] != self.buffer_size:
            raise ValueError(f"the saved replay buffer holds {state['buffer_size']} episodes, "
                             f"this run's buffer_size is {self.buffer_size}")
        stored = state["episodes_in_buffer"]
        for key, value in state["data"].items():
            if key not in self.data or self.data[key].shape[1:] != value.shape[1:]:
                raise ValueError(f"replay buffer field '{key}' does not fit this run's episode scheme")
            self.data[key].zero_()
            self.data[key][:stored] = value.to(self.device)
        self.lengths[:] = 0
        self.lengths[:stored] = self.data["filled"][:stored, :, 0].sum(dim=1).cpu().numpy()
        self.insert_index = state["insert_index"]
        self.episodes_in_buffer = stored
        self.rng.bit_generator.state = state["rng"]

    def __repr__(self):
        return f"ReplayBuffer({self.episodes_in_buffer}/{self.buffer_size} episodes)"


def gather_longest_first(parts):
    """One batch of the episodes in slots ``slots`` of each ``(buffer, slots)`` of ``parts``, in
    one order: longest first (ties in the order given), cut at the longest episode."""
    lengths = np.concatenate([buffer.lengths[slots] for buffer, slots in parts])
    order = np.argsort(-lengths, kind="stable")
    if len(parts) == 1:  # sort the slots themselves: one copy instead of two
        parts, order = [(parts[0][0], parts[0][1][order])], None
    elif (order == np.arange(len(order))).all():
        order = None
    steps = int(lengths.max())
    first = parts[0][0]
    data = {}
    for key in first.data:
        pieces = [buffer.data[key][:, :steps][torch.as_tensor(slots, device=buffer.device)] for buffer, slots in parts]
        data[key] = torch.cat(pieces) if len(pieces) > 1 else pieces[0]
        if order is not None:
            data[key] = data[key][torch.as_tensor(order, device=first.device)]
    return EpisodeBatch(first.scheme, first.groups, len(lengths), steps, first.preprocess, first.device, data)
