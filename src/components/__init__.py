"""Episode storage, replay buffers, schedules and action selectors."""

from components.dual_buffer import DualReplayBuffer
from components.replay_buffer import ReplayBuffer


def _episode_buffer(args, scheme, groups, max_seq_length, preprocess, device, rng):
    return ReplayBuffer(scheme, groups, args.buffer_size, max_seq_length, preprocess, device, rng)


def _dual_buffer(args, scheme, groups, max_seq_length, preprocess, device, rng):
    return DualReplayBuffer(scheme, groups, args.buffer_size, args.on_policy_buffer_size, args.on_policy_fraction,
                            max_seq_length, preprocess, device, rng)


# ``buffer`` in YAML picks a factory: (args, scheme, groups, max_seq_length, preprocess, device, rng).
BUFFER_REGISTRY = {"episode": _episode_buffer, "dual": _dual_buffer}
