"""Episode storage, replay buffers, schedules and action selectors."""

from components.replay_buffer import ReplayBuffer


def _episode_buffer(args, scheme, groups, max_seq_length, preprocess, device, rng):
    return ReplayBuffer(scheme, groups, args.buffer_size, max_seq_length, preprocess, device, rng)


# ``buffer`` in YAML picks a factory: (args, scheme, groups, max_seq_length, preprocess, device, rng).
BUFFER_REGISTRY = {"episode": _episode_buffer}
