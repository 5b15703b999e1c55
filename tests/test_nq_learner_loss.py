"""NQLearner's loss worked out by hand: a batch of two episodes of two agents (three actions),
Q-values fixed by the test, VDN and a QMIX mixer with hand-set weights; the TD(lambda)
targets (double Q, the terminal and time-limit ends, the padding mask) and the masked mean
squared TD error that train() logs as ``loss_td``."""

import pytest
import torch

from components.episode_batch import EpisodeBatch, build_scheme
from learners.nq_learner import NQLearner
from mast_setup import ENV_SMALL, with_known_qs
from sparse_setup import make_args, make_learner

GAMMA = 0.9
LAMBDA = 0.5

# Episode A: two transitions, ended by the time limit (not terminal), so the last target
# bootstraps from s2. Episode B: terminal at its first transition; its slot 1 holds the final
# state (filled) and slot 2 is padding (not filled), so its transition 1 is masked out.
# Actions of each slot (slot 2's are never used); B's slot-1 action and reward are junk
# that the mask must hide.
ACTIONS = [[(1, 2), (0, 0), (1, 0)],
           [(1, 0), (2, 2)]]
REWARDS = [(1.0, 2.0), (2.5, 10.0)]
TERMINATED = [(0, 0), (1, 0)]
# Only a state's first entry is nonzero; the QMIX mixer below reads it (V(s) = s[0] / 2).
STATE_FIRST = [(0.0, 2.0, 4.0), (6.0, 8.0)]
# Agent 0 cannot take action 0 at episode A's slot 2, where its online Q is the highest.
UNAVAILABLE = [(0, 2, 0, 0)]  # (episode, slot, agent, action)

# [episode, slot, agent, action]. Online: the taken Qs and, with double Q, the next actions.
ONLINE_QS = torch.tensor([
    [[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]],   # A s0: taken (1, 2) -> Qs 2, 3
     [[4.0, 0.0, 1.0], [2.0, 0.0, 5.0]],   # A s1: taken (0, 0) -> 4, 2; greedy (0, 2)
     [[6.0, 3.0, 1.0], [1.0, 0.0, 0.0]]],  # A s2: greedy (1, 0) (action 0 of agent 0 unavailable)
    [[[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]],   # B s0: taken (1, 0) -> 1, 2
     [[5.0, 5.0, 5.0], [5.0, 5.0, 5.0]],   # B s1: final state; its "transition" is padding
     [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],  # B s2: padding (an unroll gives zeros there)
])
# Target network: values the next actions the online network picks.
TARGET_QS = torch.tensor([
    [[[7.0, 7.0, 7.0], [7.0, 7.0, 7.0]],   # A s0: never a next state
     [[1.0, 5.0, 2.0], [3.0, 1.0, 2.0]],   # A s1: at (0, 2): 1 and 2 (the max would take 5 and 3)
     [[2.0, 1.0, 5.0], [3.0, 0.0, 1.0]]],  # A s2: at (1, 0): 1 and 3 (the max would take 5 and 3)
    [[[7.0, 7.0, 7.0], [7.0, 7.0, 7.0]],   # B s0: never a next state
     [[9.0, 9.0, 9.0], [9.0, 9.0, 9.0]],   # B s1: after a terminal transition, never bootstrapped
     [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],  # B s2: padding
])

# VDN: Q_tot = Q_0 + Q_1; gamma 0.9, lambda 0.5; G_t = r_t + gamma((1-lambda) Q'(s_t+1)(1 - term_t) + lambda G_t+1).
#   next-state values (target Qs at the online greedy actions): Q'(A s1) = 1 + 2 = 3, Q'(A s2) = 1 + 3 = 4
#   A: G_1 = 2 + 0.9 * 4 = 5.6 (time limit: bootstrap from s2)
#      G_0 = 1 + 0.9 * (0.5 * 3 + 0.5 * 5.6) = 1 + 0.9 * 4.3 = 4.87
#   B: G_0 = 2.5 (terminal: no bootstrap, and nothing of the padded step after it)
#   taken Q_tot: A 2 + 3 = 5, 4 + 2 = 6; B 1 + 2 = 3
#   TD errors: 5 - 4.87 = 0.13, 6 - 5.6 = 0.4, 3 - 2.5 = 0.5
#   loss = (0.13^2 + 0.4^2 + 0.5^2) / 3 real transitions = (0.0169 + 0.16 + 0.25) / 3 = 0.1423
VDN_TARGETS = [[4.87, 5.6], [2.5, 0.0]]  # [episode][transition]; 0 on the masked one
VDN_Q_TOT = [5.0, 6.0, 3.0]  # the real transitions: A0, A1, B0
VDN_TD_ERRORS = [0.13, 0.4, 0.5]
VDN_LOSS = 0.1423

# QMIX with mixing_embed_dim 1 and every hypernetwork's last layer constant in the state,
# except V: w1 = |(-1, 2)| = (1, 2), b1 = 0.5, w_final = |-0.5| = 0.5, V(s) = relu(s[0]) * 0.5.
# With nonnegative Qs the ELU sees a positive input and is the identity, so
#   Q_tot = 0.5 * (Q_0 + 2 Q_1 + 0.5) + s[0] / 2 = 0.5 Q_0 + Q_1 + 0.25 + s[0] / 2.
#   next-state values (same picks as above): Q'(A s1) = 0.5 * 1 + 2 + 0.25 + 1 = 3.75,
#                                            Q'(A s2) = 0.5 * 1 + 3 + 0.25 + 2 = 5.75
#   A: G_1 = 2 + 0.9 * 5.75 = 7.175
#      G_0 = 1 + 0.9 * (0.5 * 3.75 + 0.5 * 7.175) = 1 + 0.9 * 5.4625 = 5.91625
#   B: G_0 = 2.5
#   taken Q_tot: A 0.5 * 2 + 3 + 0.25 + 0 = 4.25, 0.5 * 4 + 2 + 0.25 + 1 = 5.25; B 0.5 * 1 + 2 + 0.25 + 3 = 5.75
#   TD errors: 4.25 - 5.91625 = -1.66625, 5.25 - 7.175 = -1.925, 5.75 - 2.5 = 3.25
#   loss = (2.7763890625 + 3.705625 + 10.5625) / 3 = 17.0445140625 / 3 = 5.6815046875
QMIX_TARGETS = [[5.91625, 7.175], [2.5, 0.0]]
QMIX_Q_TOT = [4.25, 5.25, 5.75]
QMIX_TD_ERRORS = [-1.66625, -1.925, 3.25]
QMIX_LOSS = 5.6815046875
N_REAL, N_AGENTS = 3, 2  # PyMARL2's stats average over real transitions, and the means also per agent


def hand_batch(rewards=REWARDS):
    """The two episodes above (``rewards`` per episode and transition): A fills its three
    slots, B its first two."""
    scheme, groups, preprocess = build_scheme(ENV_SMALL)
    batch = EpisodeBatch(scheme, groups, 2, 3, preprocess)
    avail = torch.ones(2, 3, 2, 3, dtype=torch.int)
    for episode, slot, agent, action in UNAVAILABLE:
        avail[episode, slot, agent, action] = 0
    for episode in range(2):
        slots = len(ACTIONS[episode])
        state = torch.zeros(1, slots, ENV_SMALL["state_shape"])
        state[0, :, 0] = torch.tensor(STATE_FIRST[episode])
        reward = torch.tensor([*rewards[episode], 0.0][:slots]).view(1, slots, 1)
        terminated = torch.tensor([*TERMINATED[episode], 0][:slots]).view(1, slots, 1)
        batch.update({
            "obs": torch.zeros(1, slots, 2, ENV_SMALL["obs_shape"]),
            "state": state,
            "avail_actions": avail[episode:episode + 1, :slots],
            "actions": torch.tensor(ACTIONS[episode]).view(1, slots, 2, 1),
            "reward": reward,
            "terminated": terminated,
        }, bs=slice(episode, episode + 1), ts=slice(0, slots))
    return batch


def set_hand_qmix_weights(mixer):
    """The QMIX mixer of the comment above (mixing_embed_dim 1, two agents)."""
    with torch.no_grad():
        for parameter in mixer.parameters():
            parameter.zero_()
        mixer.hyper_w_1[2].bias.copy_(torch.tensor([-1.0, 2.0]))
        mixer.hyper_b_1.bias.fill_(0.5)
        mixer.hyper_w_final[2].bias.fill_(-0.5)
        mixer.V[0].weight[0, 0] = 1.0  # first hidden unit: relu(s[0])
        mixer.V[2].weight[0, 0] = 0.5


def hand_learner(alg, **settings):
    """The ``alg`` (vdn or qmix) learner, built as a run builds it (with config ``settings``),
    with the Qs and mixer above; returns it and a dict that receives the TD(lambda) targets of
    its next update."""
    overrides = {"mixing_embed_dim": 1} if alg == "qmix" else {}
    args = make_args(alg, env_info=ENV_SMALL, gamma=GAMMA, td_lambda=LAMBDA, td_lambda_schedule=[],
                     double_q=True, target_operator="max", **overrides, **settings)
    learner = make_learner(args)
    assert type(learner) is NQLearner and args.mixer == alg
    if alg == "qmix":
        set_hand_qmix_weights(learner.mixer)
        learner.target_mixer.load_state_dict(learner.mixer.state_dict())
    # Online Qs that require grad, so that train() can take its optimizer step on them.
    with_known_qs(learner.mac, ONLINE_QS.clone().requires_grad_())
    with_known_qs(learner.target_mac, TARGET_QS.clone())
    recorded = {}
    returns = learner.targets.returns

    def recording_returns(*args, **kwargs):
        recorded["targets"] = returns(*args, **kwargs)
        return recorded["targets"]

    learner.targets.returns = recording_returns
    return learner, recorded


@pytest.mark.parametrize("alg, targets, q_tot, td_errors, loss", [
    ("vdn", VDN_TARGETS, VDN_Q_TOT, VDN_TD_ERRORS, VDN_LOSS),
    ("qmix", QMIX_TARGETS, QMIX_Q_TOT, QMIX_TD_ERRORS, QMIX_LOSS),
])
def test_nq_learner_loss_by_hand(alg, targets, q_tot, td_errors, loss):
    assert sum(error ** 2 for error in td_errors) / N_REAL == pytest.approx(loss)  # the comments' arithmetic
    learner, recorded = hand_learner(alg)
    computed, stats = learner.compute_loss(hand_batch(), t_env=0)
    assert recorded["targets"].squeeze(-1).tolist() == [pytest.approx(row) for row in targets]
    assert float(computed.detach()) == pytest.approx(loss)
    assert float(stats["loss_td"]) == pytest.approx(loss)
    assert float(stats["target_mean"]) == pytest.approx(sum(map(sum, targets)) / (N_REAL * N_AGENTS))
    assert float(stats["q_taken_mean"]) == pytest.approx(sum(q_tot) / (N_REAL * N_AGENTS))
    assert float(stats["td_error_abs"]) == pytest.approx(sum(map(abs, td_errors)) / N_REAL)


@pytest.mark.parametrize("alg, loss", [("vdn", VDN_LOSS), ("qmix", QMIX_LOSS)])
def test_train_logs_the_hand_loss_as_loss_td(alg, loss):
    learner, _ = hand_learner(alg)
    learner.train(hand_batch(), t_env=0, episode_num=0)  # the first update logs its stats
    assert learner.logger.latest("loss_td") == pytest.approx(loss)
    assert learner.logger.latest("td_lambda") == pytest.approx(LAMBDA)


# standardise_rewards: the real transitions' rewards are A's 1 and 2 and B's 2.5 (B's 10 is on
# a masked transition); their mean and (population) standard deviation:
REAL_REWARDS = [1.0, 2.0, 2.5]
REAL_MEAN = sum(REAL_REWARDS) / 3
REAL_STD = (sum((reward - REAL_MEAN) ** 2 for reward in REAL_REWARDS) / 3) ** 0.5


def standardised(rewards):
    return [[(reward - REAL_MEAN) / REAL_STD for reward in episode] for episode in rewards]


@pytest.mark.parametrize("alg", ["vdn", "qmix"])
def test_standardise_rewards_builds_targets_from_the_real_steps_standardised_rewards(alg):
    learner, recorded = hand_learner(alg, standardise_rewards=True)
    learner.compute_loss(hand_batch(), t_env=0)
    plain, expected = hand_learner(alg)
    plain.compute_loss(hand_batch(standardised(REWARDS)), t_env=0)
    # Statistics start from gymnasium's prior (mean 0, variance 1, count 1e-4): within 1e-3.
    real = [(0, 0), (0, 1), (1, 0)]
    assert [float(recorded["targets"][i, t]) for i, t in real] == \
        [pytest.approx(float(expected["targets"][i, t]), rel=1e-3) for i, t in real]
    assert float(recorded["targets"][0, 1]) != pytest.approx(VDN_TARGETS[0][1] if alg == "vdn" else QMIX_TARGETS[0][1])


def test_reward_statistics_run_over_updates_and_are_checkpointed():
    learner, _ = hand_learner("vdn", standardise_rewards=True)
    learner.compute_loss(hand_batch(), t_env=0)
    learner.compute_loss(hand_batch([(3.0, -1.0), (4.0, 100.0)]), t_env=0)  # 100: masked again
    seen = REAL_REWARDS + [3.0, -1.0, 4.0]
    mean = sum(seen) / len(seen)
    state = learner.state_dict()["reward_standardiser"]
    assert state["mean"] == pytest.approx(mean, rel=1e-3)
    assert state["var"] == pytest.approx(sum((reward - mean) ** 2 for reward in seen) / len(seen), rel=1e-3)

    resumed, _ = hand_learner("vdn", standardise_rewards=True)
    resumed.load_state_dict(learner.state_dict())
    assert resumed.state_dict()["reward_standardiser"] == state
    plain, _ = hand_learner("vdn")
    with pytest.raises(ValueError, match="holds no reward statistics"):
        resumed.load_state_dict(plain.state_dict())
