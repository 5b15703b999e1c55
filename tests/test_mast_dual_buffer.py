"""Dual replay buffers: a FIFO of the most recent episodes next to the off-policy buffer, batches
drawn from both in the stated proportion, state saved and restored, sizes checked up front."""

import numpy as np
import pytest
import torch

from components import BUFFER_REGISTRY
from components.dual_buffer import DualReplayBuffer, split_batch
from components.episode_batch import EpisodeBatch
from run.validation import validate_config
from utils.config import ConfigError, layered_config, merge_layer, to_namespace

SCHEME = {"reward": {"vshape": (1,)}, "obs": {"vshape": (2,), "group": "agents"}}
GROUPS = {"agents": 2}
STEPS = 4


def episodes(first_id, count):
    """``count`` episodes whose reward at step 0 is their id (first_id, first_id + 1, ...)."""
    batch = EpisodeBatch(SCHEME, GROUPS, count, STEPS)
    ids = torch.arange(first_id, first_id + count, dtype=torch.float32)
    batch.update({"reward": ids.view(count, 1, 1)}, ts=slice(0, 1))
    return batch


def ids_of(batch):
    return [int(value) for value in batch["reward"][:, 0, 0].tolist()]


def dual(buffer_size=100, recent=4, fraction=0.25, seed=0):
    return DualReplayBuffer(SCHEME, GROUPS, buffer_size, recent, fraction, STEPS, rng=np.random.default_rng(seed))


def fill(buffer, total, per_call=3):
    for first in range(0, total, per_call):
        buffer.insert_episode_batch(episodes(first, min(per_call, total - first)))


@pytest.mark.parametrize("batch_size, fraction, expected", [
    (8, 0.25, (2, 6)), (128, 0.5, (64, 64)), (10, 0.33, (3, 7)), (8, 0.0, (0, 8)), (8, 1.0, (8, 0)), (5, 0.5, (2, 3)),
])
def test_split_of_a_batch(batch_size, fraction, expected):
    assert split_batch(batch_size, fraction) == expected


def test_the_recent_buffer_keeps_the_latest_episodes_in_fifo_order():
    buffer = dual(recent=4)
    fill(buffer, 11)
    assert sorted(ids_of(buffer.on_policy[:buffer.on_policy.episodes_in_buffer])) == [7, 8, 9, 10]
    assert buffer.off_policy.episodes_in_buffer == 11  # every episode is in the off-policy buffer too
    buffer.insert_episode_batch(episodes(11, 1))  # the oldest recent one (7) goes first
    assert sorted(ids_of(buffer.on_policy[:4])) == [8, 9, 10, 11]


def test_batches_take_the_stated_share_from_the_recent_episodes():
    buffer = dual(recent=4, fraction=0.25)
    fill(buffer, 60)
    recent = {56, 57, 58, 59}
    off_policy_recent = 0
    for _ in range(200):
        batch = buffer.sample(8)
        ids = ids_of(batch)
        assert batch.batch_size == 8 and len(ids) == 8
        assert set(ids[:2]) <= recent and len(set(ids[:2])) == 2  # round(0.25 * 8) distinct recent episodes
        assert len(set(ids[2:])) == 6  # the rest: distinct episodes of the off-policy buffer
        off_policy_recent += len(recent & set(ids[2:]))
    # the off-policy part is uniform over all 60 episodes: 6 * 4 / 60 recent ones per batch on average
    assert off_policy_recent / 200 == pytest.approx(0.4, abs=0.2)


def test_fraction_zero_and_one_draw_from_one_buffer_only():
    buffer = dual(recent=4, fraction=1.0)
    fill(buffer, 30)
    assert set(ids_of(buffer.sample(4))) == {26, 27, 28, 29}
    buffer.on_policy_fraction = 0.0
    assert buffer.sample(10).batch_size == 10


def test_can_sample_needs_both_parts():
    buffer = dual(recent=4, fraction=0.5)
    fill(buffer, 3)
    assert buffer.can_sample(6) and not buffer.can_sample(8)  # 4 + 4 wanted, each buffer holds 3
    fill(buffer, 5)
    assert not buffer.can_sample(10)  # 5 recent wanted, the FIFO holds 4
    assert buffer.can_sample(8)
    with pytest.raises(ValueError, match="dual buffers"):
        buffer.sample(10)


def test_state_dict_restores_both_buffers_and_the_sampling_sequence():
    buffer = dual(recent=4, fraction=0.5, seed=3)
    fill(buffer, 20)
    state = buffer.state_dict()
    expected = [ids_of(buffer.sample(6)) for _ in range(3)]
    restored = dual(recent=4, fraction=0.5, seed=99)
    restored.load_state_dict(state)
    assert [ids_of(restored.sample(6)) for _ in range(3)] == expected
    restored.insert_episode_batch(episodes(20, 1))
    assert sorted(ids_of(restored.on_policy[:4])) == [17, 18, 19, 20]  # the FIFO position came back too


def test_the_registry_builds_it_from_the_config():
    args = to_namespace(merge_layer(layered_config("mast_qmix", "smax"), {}, "the test", allow_new_keys=False))
    buffer = BUFFER_REGISTRY[args.buffer](args, SCHEME, GROUPS, STEPS, None, "cpu", np.random.default_rng(0))
    assert isinstance(buffer, DualReplayBuffer)
    assert (buffer.on_policy.buffer_size, buffer.off_policy.buffer_size) == (256, 5000)
    assert "actions_onehot" not in buffer.scheme and "filled" in buffer.scheme


@pytest.mark.parametrize("overrides, message", [
    ({"on_policy_buffer_size": 8}, "on_policy_buffer_size"),  # 64 recent episodes per batch of 128
    ({"buffer_size": 32, "on_policy_fraction": 0.5}, "buffer_size"),  # 64 off-policy ones
    ({"on_policy_fraction": 1.5}, "on_policy_fraction"),
    ({"on_policy_buffer_size": 0}, "on_policy_buffer_size must be positive"),
])
def test_sizes_that_cannot_fill_a_batch_are_refused(overrides, message):
    config = merge_layer(layered_config("mast_qmix", "smax"), overrides, "the test", allow_new_keys=False)
    with pytest.raises(ConfigError, match=message):
        validate_config(config)
