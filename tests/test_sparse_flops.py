"""The FLOPs counter against hand counts, and the ratios of MAST.md section 5."""

from types import SimpleNamespace

import pytest
import torch

from modules.agents.rnn_agent import RNNAgent
from modules.mixers.qmix import QMixer
from sparse.flops import ForwardFlops, forward_flops, infer_flops_ratio, per_transition_flops, train_flops_ratio
from sparse_setup import make_args, make_learner, random_batch, sparse_args

ROLES = {"agent": "agent", "mixer": "mixer"}


def small_agent():
    return RNNAgent(5, SimpleNamespace(rnn_hidden_dim=4, n_actions=3, use_rnn=True))


def test_agent_flops_equal_a_hand_count():
    nonzeros = {"agent.fc1.weight": 10, "agent.rnn.weight_ih": 20, "agent.rnn.weight_hh": 30, "agent.fc2.weight": 6}
    flops = forward_flops(small_agent(), nonzeros, "agent")
    # fc1 5 -> 4: 2 * 20 multiply-adds + 4 bias adds
    # GRU 4 -> 4: 2 * (12 * 4 + 12 * 4) + 6 * 4 biases + 11 * 4 gate arithmetic
    # fc2 4 -> 3: 2 * 12 + 3
    assert flops.dense == (40 + 4) + (192 + 24 + 44) + (24 + 3)
    assert flops.sparse == (2 * 10 + 4) + (2 * (20 + 30) + 24 + 44) + (2 * 6 + 3)


def test_qmix_mixer_flops_equal_a_hand_count():
    mixer = QMixer(SimpleNamespace(n_agents=2, mixing_embed_dim=2, state_shape=3, hypernet_embed=4))
    nonzeros = {"mixer.hyper_w_1.0.weight": 6, "mixer.V.2.weight": 1}
    flops = forward_flops(mixer, nonzeros, "mixer")
    hyper_w_1 = (2 * 12 + 4) + (2 * 16 + 4)  # 3 -> 4 -> 4 (= embed 2 x agents 2)
    hyper_w_final = (2 * 12 + 4) + (2 * 8 + 2)  # 3 -> 4 -> 2
    hyper_b_1 = 2 * 6 + 2  # 3 -> 2
    v = (2 * 6 + 2) + (2 * 2 + 1)  # 3 -> 2 -> 1
    assert flops.dense == hyper_w_1 + hyper_w_final + hyper_b_1 + v
    assert flops.sparse == flops.dense - 2 * (12 - 6) - 2 * (2 - 1)


def test_unknown_layer_types_are_an_error_not_an_undercount():
    network = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    with pytest.raises(ValueError, match="net.1.*LayerNorm"):
        forward_flops(network, {}, "net")


def test_ratios_follow_the_rigl_convention():
    agent, mixer = ForwardFlops(100.0, 10.0), ForwardFlops(50.0, 5.0)
    transition = per_transition_flops({"agent": agent, "mixer": mixer}, ROLES, n_agents=3)
    assert transition == ForwardFlops(350.0, 35.0)
    assert infer_flops_ratio(agent) == 0.1
    assert train_flops_ratio(transition, transition, None) == pytest.approx((3 * 35 + 35) / (4 * 350))
    rigl = (3 * 35 * 100 + 2 * 35 + 350) / 101
    assert train_flops_ratio(transition, transition, 100) == pytest.approx((rigl + 35) / (4 * 350))
    # other forward-only passes: the agent once, the mixer 4 times
    passes = per_transition_flops({"agent": agent, "mixer": mixer}, ROLES, 3, {"agent": 1, "mixer": 4})
    assert passes == ForwardFlops(300.0 + 4 * 50, 30.0 + 4 * 5)
    assert train_flops_ratio(transition, passes, None) == pytest.approx((3 * 35 + 50) / (3 * 350 + 500))


def test_logged_ratios_of_a_90_percent_sparse_qmix():
    trainer = make_learner(sparse_args(method="rigl", update_interval=100)).sparse
    flops = trainer.network_flops()
    train, infer = trainer.flops_ratios()
    assert 0.1 < infer < 0.12  # biases and GRU gate arithmetic stay dense
    assert infer == flops["agent"].sparse / flops["agent"].dense
    static_train = make_learner(sparse_args(method="static")).sparse.flops_ratios()[0]
    assert static_train < train < static_train + 0.01  # RigL's dense gradient every 100 updates


def count_samples(learner):
    """Forward hooks counting the samples each network sees, with and without gradients, by
    online name (a target copy counts under its online network). A sample is a row through
    the network's first linear layer: one agent at one step for an agent network, one state
    for a mixer (whose hypernetworks run once per state, however many joint actions it mixes)."""
    counts = {}
    for name, network in learner.networks().items():
        online_name = name.removeprefix("target_")
        first_linear = next(module for module in network.modules() if isinstance(module, torch.nn.Linear))

        def hook(layer, inputs, output, online_name=online_name):
            key = (online_name, "trained" if torch.is_grad_enabled() else "forward_only")
            counts[key] = counts.get(key, 0) + inputs[0].numel() // layer.in_features

        first_linear.register_forward_hook(hook)
    return counts


@pytest.mark.parametrize("alg", ["qmix", "ow_qmix", "cw_qmix", "res_qmix"])
def test_declared_forward_only_passes_match_what_an_update_runs(alg):
    """Each learner's forward_only_passes (which the training FLOPs ratio uses) against the
    forward passes one update really makes: per trained sample, exact for agents (both unroll
    all 11 slots of a 10-step episode), within the extra slot (11/10) for mixers."""
    learner = make_learner(make_args(alg, sparse={"enabled": True, "sparsity": 0.9, "method": "static"},
                                     t_max=10_000, batch_size=4))
    counts = count_samples(learner)
    learner.train(random_batch(learner.args, steps=10), t_env=0, episode_num=0)
    for name, passes in learner.forward_only_passes().items():
        measured = counts.get((name, "forward_only"), 0) / counts[(name, "trained")]
        if name.endswith("agent"):
            assert measured == passes, name
        else:
            assert passes <= measured <= passes * 11 / 10, name
    unused = {name for name, kind in counts if kind == "forward_only"} - set(learner.forward_only_passes())
    assert not unused
    trained = per_transition_flops(learner.sparse.network_flops(), learner.sparse.roles, learner.args.n_agents)
    assert learner.sparse.flops_ratios()[0] < train_flops_ratio(trained, ForwardFlops(0.0, 0.0), None) + 0.05
