"""RES: the candidate joint actions, the softmax target over them, the discounted-return
regulariser, and mixers valuing several joint actions per state."""

import itertools
import math

import pytest
import torch

from learners.res_learner import candidate_agent_qs, joint_action_candidates, return_regulariser
from mast_setup import hand_batch, small_learner, with_known_qs, with_sum_mixers
from modules.mixers.central_ff import CentralFFMixer
from modules.mixers.qmix import QMixer
from utils.rl_utils import discounted_returns

GAMMA = 0.99

N_AGENTS = 2  # the small env of tests/mast_setup.py; target_mean is per agent, as in PyMARL2


def test_discounted_returns_by_hand():
    rewards = torch.tensor([[1.0, 2.0, 3.0, 9.0], [4.0, 5.0, 7.0, 7.0]]).unsqueeze(-1)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]).unsqueeze(-1)  # padding after the end
    expected = [[1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0, 0.0], [4 + 0.5 * 5, 5.0, 0.0, 0.0]]
    assert discounted_returns(rewards, mask, 0.5).squeeze(-1).tolist() == expected


def test_return_regulariser_by_hand():
    q_tot = torch.tensor([[3.0], [1.0], [8.0]]).unsqueeze(0)
    returns = torch.tensor([[1.0], [2.0], [0.0]]).unsqueeze(0)
    mask = torch.tensor([[1.0], [1.0], [0.0]]).unsqueeze(0)
    assert return_regulariser(q_tot, returns, mask).item() == pytest.approx((4.0 + 1.0) / 2)


def test_candidates_vary_one_agent_at_a_time_and_count_each_joint_action_once():
    greedy = torch.tensor([[1, 0]])
    avail = torch.tensor([[[1, 1, 1], [1, 1, 0]]])  # agent 1 cannot take action 2
    candidates, mask = joint_action_candidates(greedy, avail)
    assert [tuple(c) for c in candidates[0].tolist()] == [
        (0, 0), (1, 0), (2, 0),  # agent 0 varies
        (1, 0), (1, 1), (1, 2),  # agent 1 varies
    ]
    # (1, 0) is the greedy joint action: counted once, as agent 0's; (1, 2) is unavailable
    assert mask[0].tolist() == [True, True, True, False, True, False]


def test_candidate_agent_qs_pick_each_agents_q_of_its_candidate_action():
    agent_qs = torch.tensor([[[10.0, 11.0, 12.0], [20.0, 21.0, 22.0]]])
    candidates = torch.tensor([[[0, 2], [1, 1]]])
    assert candidate_agent_qs(agent_qs, candidates).tolist() == [[[10.0, 22.0], [11.0, 21.0]]]


@pytest.mark.parametrize("mixer_class", [QMixer, CentralFFMixer])
def test_mixers_value_several_joint_actions_per_state_as_one_at_a_time(mixer_class):
    torch.manual_seed(0)
    _, args = small_learner("ow_qmix", central_mixing_embed_dim=16)
    mixer = mixer_class(args)
    agent_qs = torch.randn(3, 4, 5, 2)  # [B, T, K candidates, agents]
    states = torch.randn(3, 4, 4)
    together = mixer(agent_qs, states)
    assert together.shape == (3, 4, 5, 1)
    one_by_one = torch.stack([mixer(agent_qs[:, :, k], states) for k in range(5)], dim=2)
    torch.testing.assert_close(together, one_by_one)


# A hand-made episode: two agents, three actions, two transitions, values small enough to check.
ONLINE_QS = torch.tensor([[[[1.0, 2.0, 0.0], [0.0, 1.0, 0.5]],
                           [[0.0, 1.0, 3.0], [2.0, 0.0, 1.0]],   # greedy (2, 0)
                           [[2.0, 0.0, 1.0], [0.0, 1.0, 4.0]]]])  # greedy (0, 2)
TARGET_QS = torch.tensor([[[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                           [[1.0, 0.5, 2.0], [1.5, 0.0, 3.0]],
                           [[0.5, 1.0, 0.0], [2.0, 1.0, 0.5]]]])
AVAIL = torch.ones(1, 3, 2, 3, dtype=torch.int)
AVAIL[0, 2, 0, 1] = 0  # at the last state agent 0 cannot take action 1
ACTIONS = [(1, 1), (0, 2), (0, 0)]
REWARDS = (1.0, 2.0)


def candidate_set(online, avail):
    """RES's candidates written out: the distinct joint actions that change at most one agent's
    greedy (online) action to another available one."""
    greedy = [max((a for a in range(3) if avail[i][a]), key=lambda a: online[i][a]) for i in range(2)]
    joint = set()
    for agent, action in itertools.product(range(2), range(3)):
        if avail[agent][action]:
            candidate = list(greedy)
            candidate[agent] = action
            joint.add(tuple(candidate))
    return joint


def joint_sum(qs, joint_action):
    return sum(qs[i][joint_action[i]] for i in range(2))


def res_softmax(online, target, avail, beta):
    """sum_u softmax(beta * online sum)_u * target sum(u) over the candidates."""
    joint = candidate_set(online, avail)
    weights = {u: math.exp(beta * joint_sum(online, u)) for u in joint}
    return sum(weights[u] * joint_sum(target, u) for u in joint) / sum(weights.values())


def res_soft_mellowmax(online, target, avail, omega, alpha):
    """(1/omega) log sum_u softmax(alpha * online sum)_u exp(omega * target sum(u)) over the candidates."""
    joint = candidate_set(online, avail)
    weights = {u: math.exp(alpha * joint_sum(online, u)) for u in joint}
    total = sum(weights.values())
    return math.log(sum(weights[u] / total * math.exp(omega * joint_sum(target, u)) for u in joint)) / omega


def res_stats(**overrides):
    learner, _ = small_learner("res_qmix", **overrides)
    with_known_qs(learner.mac, ONLINE_QS)
    with_known_qs(learner.target_mac, TARGET_QS)
    with_sum_mixers(learner, "mixer", "target_mixer")
    return learner.compute_loss(hand_batch(ACTIONS, REWARDS, avail_actions=AVAIL), t_env=0)


def hand_targets(next_value):
    """One-step targets of the two transitions from ``next_value(online, target, avail)`` of s1, s2."""
    values = [next_value(ONLINE_QS[0, t].tolist(), TARGET_QS[0, t].tolist(), AVAIL[0, t].tolist()) for t in (1, 2)]
    return [REWARDS[0] + GAMMA * values[0], REWARDS[1] + GAMMA * values[1]]


def test_res_learner_targets_and_regulariser_by_hand():
    loss, stats = res_stats(res_beta=1.0, res_lambda=0.1)
    targets = hand_targets(lambda online, target, avail: res_softmax(online, target, avail, 1.0))
    q_tot = [2.0 + 1.0, 0.0 + 1.0]  # sums of the taken actions' online Qs: (1, 1) and (0, 2)
    returns = [REWARDS[0] + GAMMA * REWARDS[1], REWARDS[1]]
    td_loss = sum((q - y) ** 2 for q, y in zip(q_tot, targets)) / 2
    regulariser = sum((q - g) ** 2 for q, g in zip(q_tot, returns)) / 2
    assert float(stats["target_mean"]) == pytest.approx(sum(targets) / 2 / N_AGENTS)
    assert float(stats["loss_td"]) == pytest.approx(td_loss)
    assert float(stats["loss_res"]) == pytest.approx(regulariser)
    assert float(loss) == pytest.approx(td_loss + 0.1 * regulariser)


def test_res_with_soft_mellowmax_reduces_the_same_candidates():
    _, stats = res_stats(target_operator="soft_mellowmax", sm_omega=10.0, sm_alpha=1.0)
    targets = hand_targets(lambda online, target, avail: res_soft_mellowmax(online, target, avail, 10.0, 1.0))
    assert float(stats["target_mean"]) == pytest.approx(sum(targets) / 2 / N_AGENTS, rel=1e-5)
