"""The learner computes on real steps only (packed agent unroll, mixers at real steps, batches
longest first) and still makes the update of the padded computation: same Qs, loss and
gradients, whatever the order of the episodes."""

import numpy as np
import pytest
import torch

from components.dual_buffer import DualReplayBuffer
from components.episode_batch import EpisodeBatch, build_scheme
from components.replay_buffer import ReplayBuffer
from sparse_setup import make_args, make_learner

ENV = {"n_agents": 3, "n_actions": 5, "state_shape": 6, "obs_shape": 7, "episode_limit": 9}
LENGTHS = [4, 9, 2, 6, 9, 1]  # transitions per episode; 9 is the episode limit (a time-out)


def episodes_of(lengths, steps=None, seed=0):
    """Episodes of the given lengths, random content, stored in a batch of ``steps`` time slots."""
    generator = torch.Generator().manual_seed(seed)
    scheme, groups, preprocess = build_scheme(ENV)
    steps = steps or max(lengths) + 1
    batch = EpisodeBatch(scheme, groups, len(lengths), steps, preprocess)
    n_agents, n_actions = ENV["n_agents"], ENV["n_actions"]
    for i, length in enumerate(lengths):
        slots = length + 1
        avail = torch.randint(0, 2, (slots, n_agents, n_actions), generator=generator)
        avail[..., 0] = 1
        batch.update({
            "obs": torch.randn(slots, n_agents, ENV["obs_shape"], generator=generator),
            "state": torch.randn(slots, ENV["state_shape"], generator=generator),
            "avail_actions": avail,
        }, bs=i, ts=slice(0, slots))
        terminated = torch.zeros(length, 1)
        terminated[-1] = float(length < ENV["episode_limit"])
        batch.update({
            "actions": torch.randint(0, n_actions, (length, n_agents, 1), generator=generator),
            "reward": torch.randn(length, 1, generator=generator),
            "terminated": terminated,
        }, bs=i, ts=slice(0, length), mark_filled=False)
    return batch


def padded_loss(learner, batch, t_env):
    """The update's loss as the learner computed it before packing: every agent stepped on
    every time slot of the batch, the mixers on every slot, padding masked out of the loss."""
    rewards, actions, terminated, mask, avail_actions = learner.unpack(batch)

    def unroll(mac):
        inputs = mac._build_inputs(batch, slice(None))
        rows = inputs.transpose(1, 2).reshape(-1, inputs.shape[1], inputs.shape[-1])
        hidden, qs = mac.agent.init_hidden(rows.shape[0]), []
        for t in range(rows.shape[1]):
            q, hidden = mac.agent(rows[:, t], hidden)
            qs.append(q)
        return torch.stack(qs, 1).view(batch.batch_size, learner.args.n_agents, rows.shape[1], -1).transpose(1, 2)

    agent_qs = unroll(learner.mac)
    chosen_qs = torch.gather(agent_qs[:, :-1], dim=3, index=actions).squeeze(3)
    with torch.no_grad():
        next_values = learner.targets.agent_next_values(unroll(learner.target_mac), agent_qs.detach(), avail_actions)
        targets = learner.targets.returns(rewards, terminated, mask, learner.target_mixer(next_values, batch["state"]),
                                          t_env)
    q_tot = learner.mixer(chosen_qs, batch["state"][:, :-1])
    return ((q_tot - targets) * mask).pow(2).sum() / mask.sum()


def loss_and_gradients(learner, loss):
    learner.optimiser.zero_grad(set_to_none=True)
    loss.backward()
    return loss.detach(), [param.grad.clone() for param in learner.params]


@pytest.mark.parametrize("alg, overrides", [
    ("qmix", {}),
    ("vdn", {}),
    ("mast_qmix", {"sparse": {"enabled": False}, "td_lambda_schedule": []}),
])
def test_update_equals_the_padded_computation_in_any_order(alg, overrides):
    torch.manual_seed(0)
    learner = make_learner(make_args(alg, env_info=ENV, **overrides))
    batch = episodes_of(LENGTHS)  # not longest first; cut at the longest episode, as sampled batches are
    expected_loss, expected_grads = loss_and_gradients(learner, padded_loss(learner, batch, 0))
    loss, grads = loss_and_gradients(learner, learner.compute_loss(batch, 0)[0])
    assert torch.allclose(loss, expected_loss, rtol=1e-6, atol=1e-7)
    for grad, expected in zip(grads, expected_grads):
        assert torch.allclose(grad, expected, rtol=1e-5, atol=1e-7)


def test_packed_unroll_gives_the_stepped_qs_on_real_steps_and_zeros_after():
    torch.manual_seed(1)
    learner = make_learner(make_args("qmix", env_info=ENV))
    batch = episodes_of(LENGTHS)
    mac = learner.mac
    qs = mac.unroll(batch)
    inputs = mac._build_inputs(batch, slice(None))
    hidden = mac.agent.init_hidden(len(LENGTHS) * ENV["n_agents"])
    for t in range(batch.max_seq_length):
        stepped, hidden = mac.agent(inputs[:, t].reshape(-1, inputs.shape[-1]), hidden)
        stepped = stepped.view(len(LENGTHS), ENV["n_agents"], -1)
        for episode, length in enumerate(LENGTHS):
            if t <= length:  # filled: the transitions and the state after the last one
                assert torch.allclose(qs[episode, t], stepped[episode], atol=1e-6)
            else:
                assert torch.equal(qs[episode, t], torch.zeros_like(qs[episode, t]))


def stored_lengths(batch):
    return batch["filled"][:, :, 0].sum(dim=1).tolist()


def test_buffers_sample_longest_first_cut_at_the_longest():
    scheme, groups, preprocess = build_scheme(ENV)
    buffer = ReplayBuffer(scheme, groups, 20, ENV["episode_limit"] + 1, preprocess, rng=np.random.default_rng(0))
    buffer.insert_episode_batch(episodes_of([3, 1, 5, 2, 4], steps=ENV["episode_limit"] + 1))
    for _ in range(10):
        sample = buffer.sample(3)
        lengths = stored_lengths(sample)
        assert lengths == sorted(lengths, reverse=True)
        assert sample.max_seq_length == lengths[0]

    dual = DualReplayBuffer(scheme, groups, 20, 2, 0.5, ENV["episode_limit"] + 1, preprocess,
                            rng=np.random.default_rng(0))
    dual.insert_episode_batch(episodes_of([3, 1, 5, 2, 4], steps=ENV["episode_limit"] + 1))
    dual.insert_episode_batch(episodes_of([6, 2], steps=ENV["episode_limit"] + 1, seed=1))
    for _ in range(10):
        lengths = stored_lengths(dual.sample(4))
        assert lengths == sorted(lengths, reverse=True)
        assert sum(length in (7, 3) for length in lengths) >= 2  # both recent episodes, 6 and 2 transitions


def test_a_restored_buffer_knows_its_episode_lengths():
    scheme, groups, preprocess = build_scheme(ENV)
    buffer = ReplayBuffer(scheme, groups, 8, ENV["episode_limit"] + 1, preprocess, rng=np.random.default_rng(3))
    buffer.insert_episode_batch(episodes_of([3, 1, 5], steps=ENV["episode_limit"] + 1))
    restored = ReplayBuffer(scheme, groups, 8, ENV["episode_limit"] + 1, preprocess, rng=np.random.default_rng(4))
    restored.load_state_dict(buffer.state_dict())
    assert torch.equal(restored.sample(3)["obs"], buffer.sample(3)["obs"])
