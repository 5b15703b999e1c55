"""Dual replay buffers (MAST.md section 3): the usual off-policy buffer plus a small FIFO of
the most recent episodes, whose behaviour policy is close to the current one.

Every episode goes to both. A batch of ``batch_size`` episodes takes
``round(on_policy_fraction * batch_size)`` from the recent FIFO and the rest from the
off-policy buffer, each part drawn without replacement within its own buffer (a recent
episode may appear in both parts, since the off-policy buffer holds it too). The batch is
one block ordered longest episode first, as a single buffer's.
"""

from components.replay_buffer import ReplayBuffer, gather_longest_first


def split_batch(batch_size, on_policy_fraction):
    """``(from the recent FIFO, from the off-policy buffer)`` episode counts of one batch."""
    on_policy = int(round(on_policy_fraction * batch_size))
    return on_policy, batch_size - on_policy


class DualReplayBuffer:
    """Two ring buffers of episodes filled together and sampled in a fixed proportion.

    A ring buffer overwrites its oldest episode when full, so the small one is a FIFO of
    the ``on_policy_buffer_size`` most recent episodes.
    """

    def __init__(self, scheme, groups, buffer_size, on_policy_buffer_size, on_policy_fraction,
                 max_seq_length, preprocess=None, device="cpu", rng=None):
        self.off_policy = ReplayBuffer(scheme, groups, buffer_size, max_seq_length, preprocess, device, rng)
        self.on_policy = ReplayBuffer(scheme, groups, on_policy_buffer_size, max_seq_length, preprocess, device,
                                      self.off_policy.rng)
        self.on_policy_fraction = on_policy_fraction
        self.scheme = self.off_policy.scheme

    def insert_episode_batch(self, batch):
        """Store every episode of ``batch`` in both buffers."""
        self.off_policy.insert_episode_batch(batch)
        self.on_policy.insert_episode_batch(batch)

    def can_sample(self, batch_size):
        on_policy, off_policy = split_batch(batch_size, self.on_policy_fraction)
        return self.on_policy.can_sample(on_policy) and self.off_policy.can_sample(off_policy)

    def sample(self, batch_size):
        """``round(on_policy_fraction * batch_size)`` episodes from the recent FIFO, the others
        from the off-policy buffer, in one batch ordered longest first."""
        on_policy, off_policy = split_batch(batch_size, self.on_policy_fraction)
        if not self.can_sample(batch_size):
            raise ValueError(
                f"cannot sample {on_policy} + {off_policy} episodes from dual buffers holding "
                f"{self.on_policy.episodes_in_buffer} + {self.off_policy.episodes_in_buffer}"
            )
        return gather_longest_first([(buffer, buffer.draw(count))
                                     for buffer, count in ((self.on_policy, on_policy), (self.off_policy, off_policy))
                                     if count > 0])

    def state_dict(self):
        """Both buffers' contents and positions (and their shared RNG)."""
        return {"on_policy": self.on_policy.state_dict(), "off_policy": self.off_policy.state_dict()}

    def load_state_dict(self, state):
        if set(state) != {"on_policy", "off_policy"}:
            raise ValueError("its replay buffer is a single buffer, and this run has buffer=dual")
        self.on_policy.load_state_dict(state["on_policy"])
        self.off_policy.load_state_dict(state["off_policy"])

    def __repr__(self):
        return f"DualReplayBuffer(recent {self.on_policy!r}, off-policy {self.off_policy!r})"
