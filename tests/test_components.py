"""Replay buffer, mixers and epsilon-greedy selection."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from components.action_selectors import EpsilonGreedyActionSelector
from components.episode_batch import EpisodeBatch
from components.replay_buffer import ReplayBuffer
from components.transforms import OneHot
from modules.mixers.qmix import QMixer
from modules.mixers.vdn import VDNMixer

SCHEME = {
    "marker": {"vshape": (1,)},
    "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
}
GROUPS = {"agents": 2}
PREPROCESS = {"actions": ("actions_onehot", [OneHot(out_dim=4)])}


def episodes(markers, length=3):
    """A batch of episodes whose every filled step carries its marker."""
    batch = EpisodeBatch(SCHEME, GROUPS, len(markers), length, preprocess=PREPROCESS)
    for i, marker in enumerate(markers):
        batch.update({"marker": [[marker]] * length, "actions": [[[1], [3]]] * length}, bs=i, ts=slice(None))
    return batch


def test_episode_batch_derives_one_hot_actions_and_fills():
    batch = episodes([7.0])
    assert batch["actions_onehot"].shape == (1, 3, 2, 4)
    assert batch["actions_onehot"][0, 0].tolist() == [[0, 1, 0, 0], [0, 0, 0, 1]]
    assert batch["filled"].view(-1).tolist() == [1, 1, 1]
    assert batch.max_t_filled() == 3


def test_buffer_insert_and_wrap_around():
    buffer = ReplayBuffer(SCHEME, GROUPS, buffer_size=5, max_seq_length=3, preprocess=PREPROCESS)
    buffer.insert_episode_batch(episodes([1.0, 2.0, 3.0]))
    assert buffer.episodes_in_buffer == 3 and buffer.insert_index == 3
    buffer.insert_episode_batch(episodes([4.0, 5.0, 6.0]))
    assert buffer.episodes_in_buffer == 5 and buffer.insert_index == 1
    # slot 0 was overwritten by the sixth episode, the others keep theirs
    assert buffer["marker"][:, 0, 0].tolist() == [6.0, 2.0, 3.0, 4.0, 5.0]


def test_buffer_insert_of_shorter_episodes_clears_old_tail():
    buffer = ReplayBuffer(SCHEME, GROUPS, buffer_size=1, max_seq_length=3, preprocess=PREPROCESS)
    buffer.insert_episode_batch(episodes([1.0], length=3))
    buffer.insert_episode_batch(episodes([2.0], length=2))
    assert buffer["filled"].view(-1).tolist() == [1, 1, 0]
    assert buffer["marker"].view(-1).tolist() == [2.0, 2.0, 0.0]


def test_buffer_samples_only_stored_episodes():
    buffer = ReplayBuffer(SCHEME, GROUPS, buffer_size=10, max_seq_length=3, preprocess=PREPROCESS,
                          rng=np.random.default_rng(0))
    assert not buffer.can_sample(3)
    buffer.insert_episode_batch(episodes([1.0, 2.0, 3.0]))
    for _ in range(20):
        sample = buffer.sample(2)
        markers = sample["marker"][:, 0, 0].tolist()
        assert set(markers) <= {1.0, 2.0, 3.0} and len(set(markers)) == 2
    with pytest.raises(ValueError):
        buffer.sample(4)


def test_buffer_refuses_a_saved_state_of_another_capacity():
    saved = ReplayBuffer(SCHEME, GROUPS, buffer_size=5, max_seq_length=3, preprocess=PREPROCESS)
    saved.insert_episode_batch(episodes([1.0, 2.0]))
    larger = ReplayBuffer(SCHEME, GROUPS, buffer_size=8, max_seq_length=3, preprocess=PREPROCESS)
    with pytest.raises(ValueError, match="holds 5 episodes, this run's buffer_size is 8"):
        larger.load_state_dict(saved.state_dict())
    same = ReplayBuffer(SCHEME, GROUPS, buffer_size=5, max_seq_length=3, preprocess=PREPROCESS)
    same.load_state_dict(saved.state_dict())
    assert same.episodes_in_buffer == 2 and same["marker"][:2, 0, 0].tolist() == [1.0, 2.0]


def mixer_args(n_agents=3, state_dim=5):
    return SimpleNamespace(n_agents=n_agents, state_shape=state_dim, mixing_embed_dim=8, hypernet_embed=16)


def test_qmix_is_monotone_in_every_agent_q():
    torch.manual_seed(0)
    mixer = QMixer(mixer_args())
    agent_qs = torch.randn(4, 6, 3, requires_grad=True)
    states = torch.randn(4, 6, 5)
    q_tot = mixer(agent_qs, states)
    assert q_tot.shape == (4, 6, 1)
    (gradient,) = torch.autograd.grad(q_tot.sum(), agent_qs)
    assert (gradient >= 0).all()
    for agent in range(3):
        raised = agent_qs.detach().clone()
        raised[..., agent] += torch.rand(4, 6) * 5
        assert (mixer(raised, states) >= q_tot.detach() - 1e-6).all()


def test_vdn_sums_agent_qs():
    agent_qs = torch.tensor([[[1.0, 2.0, 3.5]]])
    assert VDNMixer(mixer_args()).forward(agent_qs, None).item() == pytest.approx(6.5)


def selector(epsilon):
    args = SimpleNamespace(epsilon_start=epsilon, epsilon_finish=epsilon, epsilon_anneal_time=1, test_greedy=True)
    return EpsilonGreedyActionSelector(args)


@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0])
def test_epsilon_greedy_never_picks_an_unavailable_action(epsilon):
    torch.manual_seed(1)
    avail = (torch.rand(64, 3, 6) < 0.4).int()
    avail[..., 2] = 1  # every agent has at least one available action
    qs = torch.randn(64, 3, 6) + (1 - avail) * 100.0  # unavailable actions look best
    for _ in range(20):
        actions = selector(epsilon).select_action(qs, avail, t_env=0)
        assert torch.gather(avail, -1, actions.unsqueeze(-1)).all()


def test_test_mode_is_greedy_and_epsilon_anneals_linearly():
    avail = torch.ones(16, 2, 4, dtype=torch.int)
    qs = torch.randn(16, 2, 4)
    assert torch.equal(selector(1.0).select_action(qs, avail, 0, test_mode=True), qs.argmax(-1))
    args = SimpleNamespace(epsilon_start=1.0, epsilon_finish=0.05, epsilon_anneal_time=100, test_greedy=True)
    annealing = EpsilonGreedyActionSelector(args)
    annealing.select_action(qs, avail, t_env=50)
    assert annealing.epsilon == pytest.approx(0.525)
    annealing.select_action(qs, avail, t_env=10_000)
    assert annealing.epsilon == pytest.approx(0.05)
