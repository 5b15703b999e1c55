"""Weighted QMIX: the OW and CW weightings, the central Q* (its targets at QMIX's greedy joint
action, its capacity to rank joint actions QMIX cannot) and its place among the learner's
networks (trained, copied to its target, sparse under MAST)."""

import pytest
import torch

from learners.wqmix_learner import central_weights, optimistic_weights
from mast_setup import hand_batch, small_learner, with_known_qs, with_sum_mixers
from modules.mixers.central_ff import CentralFFMixer
from modules.mixers.qmix import QMixer
from sparse_setup import make_args, make_learner, random_batch

GAMMA = 0.99
ALPHA = 0.3

N_AGENTS = 2  # the small env of tests/mast_setup.py; target_mean is per agent, as in PyMARL2


def test_optimistic_weights_by_hand():
    q_tot = torch.tensor([[1.0], [5.0], [2.0]])
    targets = torch.tensor([[2.0], [4.0], [2.0]])
    assert optimistic_weights(q_tot, targets, ALPHA).view(-1).tolist() == pytest.approx([1.0, ALPHA, ALPHA])


def test_central_weights_by_hand():
    is_greedy = torch.tensor([[True], [False], [False], [True]])
    targets = torch.tensor([[0.0], [5.0], [1.0], [9.0]])
    greedy_central = torch.tensor([[3.0], [4.0], [4.0], [1.0]])
    weights = central_weights(is_greedy, targets, greedy_central, ALPHA).view(-1).tolist()
    assert weights == pytest.approx([1.0, 1.0, ALPHA, 1.0])


# A hand-made episode of two agents with three actions, three time slots, two transitions.
# The QMIX agents' greedy joint actions: (1, 0), (2, 0), (1, 2); taken: (1, 0) (greedy), (0, 1).
QMIX_QS = torch.tensor([[[[1.0, 3.0, 0.0], [2.0, 0.0, 1.0]],
                         [[0.0, 0.0, 5.0], [4.0, 1.0, 0.0]],
                         [[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]]])
TARGET_QMIX_QS = torch.tensor([[[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                                [[9.0, 0.0, 0.0], [0.0, 0.0, 9.0]],  # greedy (0, 2)
                                [[0.0, 0.0, 9.0], [9.0, 0.0, 0.0]]]])  # greedy (2, 0)
CENTRAL_QS = torch.tensor([[[[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]],  # Q*(s0, (1, 0)) = 3
                            [[4.0, 0.0, 0.0], [0.0, -1.0, 0.0]],  # Q*(s1, (0, 1)) = 3
                            [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
TARGET_CENTRAL_QS = torch.tensor([[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]],
                                   [[0.5, 0.0, 2.0], [1.0, 0.0, 0.3]],  # at (2, 0): 3; at (0, 2): 0.8
                                   [[0.0, 1.0, 0.0], [0.0, 0.0, 0.5]]]])  # at (1, 2): 1.5; at (2, 0): 0
ACTIONS = [(1, 0), (0, 1), (0, 0)]
REWARDS = (1.0, 0.5)


def wqmix_learner(weighting, double_q=True):
    learner, _ = small_learner("ow_qmix", wqmix_weighting=weighting, wqmix_alpha=ALPHA, double_q=double_q)
    with_known_qs(learner.mac, QMIX_QS)
    with_known_qs(learner.target_mac, TARGET_QMIX_QS)
    with_known_qs(learner.central_mac, CENTRAL_QS)
    with_known_qs(learner.target_central_mac, TARGET_CENTRAL_QS)
    with_sum_mixers(learner, "mixer", "target_mixer", "central_mixer", "target_central_mixer")
    return learner


@pytest.mark.parametrize("weighting, weights", [("ow", [ALPHA, 1.0]), ("cw", [1.0, ALPHA])])
def test_targets_come_from_the_central_q_at_the_qmix_greedy_action(weighting, weights):
    _, stats = wqmix_learner(weighting).compute_loss(hand_batch(ACTIONS, REWARDS), t_env=0)
    # y0 = 1 + gamma Q*'(s1, (2, 0)) = 1 + gamma 3; y1 = 0.5 + gamma Q*'(s2, (1, 2)) = 0.5 + gamma 1.5
    targets = [1.0 + GAMMA * 3.0, 0.5 + GAMMA * 1.5]
    q_tot = [5.0, 1.0]  # QMIX (here a sum) of the taken actions
    # OW: step 0 overestimated (5 > 3.97) -> alpha, step 1 underestimated -> 1.
    # CW: step 0 is greedy -> 1; step 1 is not, and y1 = 1.985 < Q*'(s1, greedy (2, 0)) = 3 -> alpha.
    assert float(stats["target_mean"]) == pytest.approx(sum(targets) / 2 / N_AGENTS)
    assert float(stats["wqmix_weight_mean"]) == pytest.approx(sum(weights) / 2)
    expected_qmix = sum(w * (q - y) ** 2 for w, q, y in zip(weights, q_tot, targets)) / 2
    assert float(stats["loss_td"]) == pytest.approx(expected_qmix)
    expected_central = sum((3.0 - y) ** 2 for y in targets) / 2  # Q* of the taken actions: 3 and 3
    assert float(stats["loss_central"]) == pytest.approx(expected_central)


def test_without_double_q_the_target_qmix_agents_pick_the_greedy_action():
    _, stats = wqmix_learner("ow", double_q=False).compute_loss(hand_batch(ACTIONS, REWARDS), t_env=0)
    targets = [1.0 + GAMMA * 0.8, 0.5 + GAMMA * 0.0]  # Q*' at the target QMIX greedy (0, 2) and (2, 0)
    assert float(stats["target_mean"]) == pytest.approx(sum(targets) / 2 / N_AGENTS)


def soft_mellowmax_reference(values, weights, omega, alpha):
    """(1/omega) log sum_u softmax(alpha W)_u exp(omega Q_u), written out."""
    values, weights = torch.tensor(values, dtype=torch.float64), torch.tensor(weights, dtype=torch.float64)
    return float(torch.log((torch.softmax(alpha * weights, 0) * torch.exp(omega * values)).sum()) / omega)


def joint_soft_mellowmax_learner(alpha, omega=2.0):
    learner = wqmix_learner("ow")
    learner.targets = type(learner.targets)(small_learner(
        "ow_qmix", target_operator="soft_mellowmax", sm_scale="fixed", sm_omega=omega, sm_alpha=alpha)[1])
    return learner


def test_joint_soft_mellowmax_runs_over_q_star_of_the_candidates_weighted_by_qmix():
    omega, alpha = 2.0, 0.5
    _, stats = joint_soft_mellowmax_learner(alpha, omega).compute_loss(hand_batch(ACTIONS, REWARDS), t_env=0)
    # s1: QMIX greedy (2, 0); candidates (0, 0), (1, 0), (2, 0), (2, 1), (2, 2) (the greedy one once).
    # Q*' (sums of TARGET_CENTRAL_QS) 1.5, 1.0, 3.0, 2.0, 2.3; weights: QMIX's Q_tot 4, 4, 9, 6, 5.
    value_s1 = soft_mellowmax_reference([1.5, 1.0, 3.0, 2.0, 2.3], [4.0, 4.0, 9.0, 6.0, 5.0], omega, alpha)
    # s2: QMIX greedy (1, 2); candidates (0, 2), (1, 2), (2, 2), (1, 0), (1, 1); weights 4, 5, 3, 2, 2.
    value_s2 = soft_mellowmax_reference([0.5, 1.5, 0.5, 1.0, 1.0], [4.0, 5.0, 3.0, 2.0, 2.0], omega, alpha)
    targets = [1.0 + GAMMA * value_s1, 0.5 + GAMMA * value_s2]
    assert float(stats["target_mean"]) == pytest.approx(sum(targets) / 2 / N_AGENTS, rel=1e-5)
    assert value_s1 < 3.0 + 1e-6 and value_s2 < 1.5 + 1e-6  # below the max over candidates here


def test_joint_soft_mellowmax_becomes_wqmix_own_target_as_alpha_grows():
    _, stats = joint_soft_mellowmax_learner(alpha=200.0).compute_loss(hand_batch(ACTIONS, REWARDS), t_env=0)
    targets = [1.0 + GAMMA * 3.0, 0.5 + GAMMA * 1.5]  # Q*' at QMIX's greedy joint actions, as with max
    assert float(stats["target_mean"]) == pytest.approx(sum(targets) / 2 / N_AGENTS, rel=1e-5)


def test_the_loss_sums_the_weighted_qmix_and_central_losses():
    loss, stats = wqmix_learner("cw").compute_loss(hand_batch(ACTIONS, REWARDS), t_env=0)
    assert float(loss) == pytest.approx(float(stats["loss_td"]) + float(stats["loss_central"]))


# The non-monotonic matrix game of the WQMIX paper: agent 2's best action depends on agent 1's.
PAYOFF = torch.tensor([[8.0, -12.0, -12.0], [-12.0, 0.0, 0.0], [-12.0, 0.0, 0.0]])


def fit_payoff(mixer_class, steps=400):
    """Regress a mixer over per-agent utility tables onto PAYOFF; returns the fitted joint values."""
    torch.manual_seed(0)
    _, args = small_learner("ow_qmix", central_mixing_embed_dim=64)
    mixer = mixer_class(args)
    utilities = torch.nn.Parameter(torch.randn(2, 3) * 0.1)
    state = torch.ones(9, 4)
    first, second = torch.meshgrid(torch.arange(3), torch.arange(3), indexing="ij")
    optimizer = torch.optim.Adam([utilities, *mixer.parameters()], lr=0.01)

    def joint_values():
        agent_qs = torch.stack([utilities[0, first.reshape(-1)], utilities[1, second.reshape(-1)]], dim=-1)
        return mixer(agent_qs, state).view(3, 3)

    for _ in range(steps):
        optimizer.zero_grad()
        (joint_values() - PAYOFF).pow(2).mean().backward()
        optimizer.step()
    return joint_values().detach()


def test_the_central_mixer_represents_what_qmix_cannot():
    central = fit_payoff(CentralFFMixer)
    assert (central - PAYOFF).abs().max() < 0.5
    assert divmod(int(central.argmax()), 3) == (0, 0)
    monotonic = fit_payoff(QMixer)
    assert (monotonic - PAYOFF).abs().max() > 3.0  # no monotonic mixing of utilities fits this payoff


def test_central_networks_are_trained_and_copied_to_their_targets():
    args = make_args("ow_qmix", batch_size=4, target_update_interval=10**6)
    learner = make_learner(args)
    central_before = [p.detach().clone() for p in learner.central_mixer.parameters()]
    learner.train(random_batch(args), t_env=0, episode_num=0)
    assert any(not torch.equal(before, after) for before, after in zip(central_before, learner.central_mixer.parameters()))
    for before, target in zip(central_before, learner.target_central_mixer.parameters()):
        assert torch.equal(before, target)  # no copy before target_update_interval
    learner.update_targets()
    for name in ("central_agent", "central_mixer"):
        online, target = learner.networks()[name], learner.networks()["target_" + name]
        for a, b in zip(online.state_dict().values(), target.state_dict().values()):
            assert torch.equal(a, b)


def test_under_mast_the_central_networks_are_sparse_too():
    args = make_args("mast_cw_qmix", batch_size=4)
    learner = make_learner(args)
    masked = set(learner.sparse.weights)
    assert any(name.startswith("central_agent.") for name in masked)
    assert any(name.startswith("central_mixer.") for name in masked)
    for name in ("central_mixer.net.2.weight", "central_agent.rnn.weight_hh"):
        weight = learner.sparse.weights[name]
        assert 1 - float(torch.count_nonzero(weight)) / weight.numel() == pytest.approx(0.9, abs=0.01)
        target = dict(learner.networks()["target_" + name.split(".")[0]].named_parameters())[name.split(".", 1)[1]]
        assert torch.equal(target == 0, weight == 0)  # the target carries the same mask
