"""Masked training: weights stay zero under Adam and RMSprop, targets carry the masks,
topology evolution keeps nonzero counts, RigL grows where the dense gradient is largest,
and masks survive a save/load round trip."""

import copy
import math
from types import SimpleNamespace

import pytest
import torch

from learners.networks import NetworkPair
from modules.mixers.qmix import QMixer
from modules.mixers.vdn import VDNMixer
from sparse import SparseTrainer
from sparse.topology import TopologySchedule, evolve_layer, grow_at_random, grow_by_gradient
from sparse_setup import make_args, make_learner, random_batch, sparse_args
from utils.checkpoint import CheckpointError


def train_steps(learner, n_updates, t_env_step=10, first_update=0):
    batch = random_batch(learner.args, seed=first_update)
    for update in range(first_update, first_update + n_updates):
        learner.train(batch, t_env=update * t_env_step, episode_num=update + 1)


def masked_positions_are_zero(trainer, tensors_by_name):
    return all(
        torch.all(tensors_by_name[name][trainer.masks[name] == 0] == 0) for name in trainer.masks
    )


def optimizer_states(learner, key):
    return {name: learner.optimiser.state[w][key] for name, w in learner.sparse.weights.items()}


def target_weights(learner):
    named = {f"agent.{n}": p for n, p in learner.target_mac.agent.named_parameters()}
    named.update({f"mixer.{n}": p for n, p in learner.target_mixer.named_parameters()})
    return named


@pytest.mark.parametrize("optimizer, state_keys", [("adam", ["exp_avg", "exp_avg_sq"]), ("rmsprop", ["square_avg"])])
def test_masked_weights_and_optimizer_state_stay_zero_over_many_steps(optimizer, state_keys):
    learner = make_learner(sparse_args(method="static", optimizer=optimizer))
    masks_before = {name: mask.clone() for name, mask in learner.sparse.masks.items()}
    train_steps(learner, 40)
    trainer = learner.sparse
    assert all(torch.equal(masks_before[name], trainer.masks[name]) for name in masks_before)
    assert masked_positions_are_zero(trainer, trainer.weights)
    for key in state_keys:
        states = optimizer_states(learner, key)
        assert masked_positions_are_zero(trainer, states)
        assert all(torch.count_nonzero(states[name]) > 0 for name in states)  # the active weights did train
    assert trainer.sparsity() == pytest.approx(0.9, abs=1e-4)


def test_without_gradient_masking_adam_would_move_masked_weights():
    """The check above can fail: skipping the gradient mask leaves Adam state at masked positions."""
    learner = make_learner(sparse_args(method="static"))
    learner.sparse.after_backward = lambda t_env: None
    train_steps(learner, 3)
    assert not masked_positions_are_zero(learner.sparse, optimizer_states(learner, "exp_avg"))


def test_target_networks_carry_the_masks_before_and_after_target_copies():
    learner = make_learner(sparse_args(method="rigl", update_interval=3))
    assert masked_positions_are_zero(learner.sparse, target_weights(learner))
    train_steps(learner, 12)  # target_update_interval=1: a hard copy after every update
    assert masked_positions_are_zero(learner.sparse, target_weights(learner))
    for name, weight in learner.sparse.weights.items():
        assert torch.equal(weight, target_weights(learner)[name])


@pytest.mark.parametrize("agent", ["n_rnn", "rnn_ns"])
def test_fan_in_scaling_gives_sparse_units_the_dense_initial_variance_and_the_targets_the_same_weights(agent):
    def built(args):
        torch.manual_seed(3)  # the same initial weights for the three
        return make_learner(args)

    dense_scale = built(sparse_args(sparsity=0.9, seed=3, agent=agent))
    fan_in = built(sparse_args(sparsity=0.9, seed=3, agent=agent, init_scale="fan_in"))
    dense = built(make_args(seed=3, agent=agent))
    for name, weight in fan_in.sparse.weights.items():
        mask = fan_in.sparse.masks[name]
        assert torch.equal(mask, dense_scale.sparse.masks[name]) and torch.equal(weight != 0, mask > 0)
        active_fan_in = mask.sum(-1, keepdim=True)  # per output unit (of each agent, for rnn_ns)
        expected = dense_scale.sparse.weights[name] * (weight.shape[-1] / active_fan_in.clamp(min=1)).sqrt()
        assert torch.allclose(weight, expected)
        assert torch.equal(weight, target_weights(fan_in)[name])
    # per unit, the summed squared weights (the variance a unit passes on) are the dense layer's, not d times it
    rnn = "agent.rnn.weight_hh"
    dense_energy = float(dict(dense.mac.agent.named_parameters())["rnn.weight_hh"].detach().pow(2).sum())
    assert float(fan_in.sparse.weights[rnn].detach().pow(2).sum()) == pytest.approx(dense_energy, rel=0.1)
    assert float(dense_scale.sparse.weights[rnn].detach().pow(2).sum()) == pytest.approx(0.1 * dense_energy, rel=0.1)


def test_topology_updates_keep_nonzero_counts_and_grow_at_zero():
    learner = make_learner(sparse_args(method="rigl", update_interval=1, drop_fraction=0.3))
    trainer = learner.sparse
    counts = {name: int(mask.sum()) for name, mask in trainer.masks.items()}
    batch = random_batch(learner.args)
    changed = 0
    for update in range(25):
        old_masks = {name: mask.clone() for name, mask in trainer.masks.items()}
        learner.train(batch, t_env=update * 10, episode_num=update + 1)
        for name, mask in trainer.masks.items():
            assert int(mask.sum()) == counts[name], name
            assert int(torch.count_nonzero(trainer.weights[name])) <= counts[name]
            grown = (mask > 0) & (old_masks[name] == 0)
            changed += int(grown.sum())
            assert torch.all(trainer.weights[name][grown] == 0), name
            for value in learner.optimiser.state[trainer.weights[name]].values():
                if value.shape == mask.shape:
                    assert torch.all(value[grown] == 0), name
    assert changed > 0
    assert masked_positions_are_zero(trainer, trainer.weights)


def test_set_changes_topology_and_static_does_not():
    for method, should_change in (("set", True), ("static", False)):
        learner = make_learner(sparse_args(method=method, update_interval=2))
        before = {name: mask.clone() for name, mask in learner.sparse.masks.items()}
        train_steps(learner, 6)
        moved = any(not torch.equal(before[name], mask) for name, mask in learner.sparse.masks.items())
        assert moved == should_change, method


def tiny_trainer(weight, mask, method="rigl", drop_fraction=0.5):
    """A SparseTrainer over one bias-free 4x4 layer named ``agent`` with a given weight and mask."""
    layer = torch.nn.Linear(4, 4, bias=False)
    config = SimpleNamespace(enabled=True, sparsity=0.5, distribution="uniform", method=method, update_interval=1,
                             drop_fraction=drop_fraction, drop_schedule="constant", stop_fraction=1.0,
                             init="random", init_scale="dense", dense_layers=[],
                             network_sparsity=SimpleNamespace(agent=None, mixer=None))
    args = SimpleNamespace(sparse=config, t_max=100, n_agents=1, seed=0)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.0)
    pair = NetworkPair(layer, copy.deepcopy(layer), "agent")
    trainer = SparseTrainer({"agent": pair}, optimizer, args, forward_only_passes={"agent": 1})
    with torch.no_grad():
        layer.weight.copy_(weight)
    trainer.masks["agent.weight"] = mask.clone()
    trainer.apply_masks()
    return layer, optimizer, trainer


def test_rigl_grows_where_the_dense_gradient_is_largest():
    weight = torch.arange(1.0, 17.0).view(4, 4)
    mask = torch.zeros(4, 4)
    mask[:2] = 1.0  # rows 0-1 active (weights 1..8), rows 2-3 inactive
    layer, optimizer, trainer = tiny_trainer(weight, mask)
    gradient = torch.zeros(4, 4)
    gradient[3, 1], gradient[2, 2], gradient[3, 3] = 5.0, -9.0, 7.0  # largest |grad| at inactive positions
    gradient[0, 0] = 100.0  # active now, dropped for its small weight, then regrown for its gradient
    loss = (layer.weight * gradient).sum()  # d loss / d weight = gradient, dense
    loss.backward()
    trainer.after_backward(t_env=0)
    assert torch.equal(layer.weight.grad, gradient * mask)  # the step only sees the sparse gradient
    optimizer.step()
    trainer.after_step(t_env=0)
    new_mask = trainer.masks["agent.weight"]
    # drop fraction 0.5 of 8 active: the 4 smallest active weights (1, 2, 3, 4: row 0) go;
    # 4 grow among the inactive and just-dropped positions by |dense gradient|: (0, 0), (2, 2),
    # (3, 3), (3, 1), with (0, 0) regrown at zero
    assert new_mask[0].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert new_mask[1].tolist() == [1.0, 1.0, 1.0, 1.0]
    grown = {(int(r), int(c)) for r, c in torch.nonzero((new_mask > 0) & (mask == 0))}
    assert grown == {(3, 1), (2, 2), (3, 3)}
    assert layer.weight[0].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert torch.all(layer.weight[2:] == 0)
    assert int(new_mask.sum()) == 8


def test_grow_by_gradient_and_at_random_pick_only_candidates():
    candidates = torch.tensor([True, False, True, True, False, True])
    gradient = torch.tensor([0.1, 9.0, -0.5, 0.3, 8.0, 0.2])
    assert sorted(grow_by_gradient(candidates, 2, gradient, None).tolist()) == [2, 3]
    picked = grow_at_random(candidates, 3, gradient, torch.Generator().manual_seed(0))
    assert len(set(picked.tolist())) == 3 and set(picked.tolist()) <= {0, 2, 3, 5}


def test_a_dense_layer_is_left_alone_by_topology_updates():
    weight, mask = torch.randn(3, 3), torch.ones(3, 3)
    new_mask, kept = evolve_layer(weight, mask, 0.5, grow_at_random, None, torch.Generator())
    assert torch.equal(new_mask, mask) and torch.equal(kept, mask)


def test_schedule_cosine_annealing_interval_and_stop():
    schedule = TopologySchedule("rigl", update_interval=10, drop_fraction=0.4, drop_schedule="cosine",
                                stop_fraction=0.5, t_max=1000)
    assert schedule.drop_fraction(0) == pytest.approx(0.4)
    assert schedule.drop_fraction(250) == pytest.approx(0.2)
    assert schedule.drop_fraction(125) == pytest.approx(0.2 * (1 + math.cos(math.pi / 4)))
    assert [schedule.is_due(i, 100) for i in (9, 10, 11, 20)] == [False, True, False, True]
    assert not schedule.is_due(10, 500)  # stopped at 0.5 * t_max
    constant = TopologySchedule("set", 10, 0.4, "constant", 1.0, 1000)
    assert constant.drop_fraction(900) == 0.4
    assert not TopologySchedule("static", 1, 0.4, "cosine", 1.0, 1000).is_due(1, 0)


def test_topology_stops_after_stop_fraction_of_t_max():
    learner = make_learner(sparse_args(method="set", update_interval=1, stop_fraction=0.1))  # stop at t_env 1000
    initial = {name: mask.clone() for name, mask in learner.sparse.masks.items()}
    train_steps(learner, 2, t_env_step=400)  # t_env 0 and 400: both update the topology
    assert not all(torch.equal(initial[name], mask) for name, mask in learner.sparse.masks.items())
    before = {name: mask.clone() for name, mask in learner.sparse.masks.items()}
    train_steps(learner, 3, t_env_step=500, first_update=2)  # t_env 1000, 1500, 2000
    assert all(torch.equal(before[name], mask) for name, mask in learner.sparse.masks.items())


def test_save_and_load_round_trip_restores_masks_and_sparsity():
    learner = make_learner(sparse_args(method="rigl", update_interval=2))
    train_steps(learner, 5)
    state = learner.state_dict()
    restored = make_learner(sparse_args(method="rigl", update_interval=2, seed=7))
    assert not all(torch.equal(restored.sparse.masks[n], m) for n, m in learner.sparse.masks.items())
    restored.load_state_dict(state)
    for name, mask in learner.sparse.masks.items():
        assert torch.equal(restored.sparse.masks[name], mask)
        assert torch.equal(restored.sparse.weights[name], learner.sparse.weights[name])
    assert restored.sparse.layer_sparsity() == learner.sparse.layer_sparsity()
    assert restored.sparse.n_updates == learner.sparse.n_updates
    # the restored random generator continues the saved one: the next SET/RigL updates agree
    train_steps(learner, 2, first_update=5)
    train_steps(restored, 2, first_update=5)
    for name, mask in learner.sparse.masks.items():
        assert torch.equal(restored.sparse.masks[name], mask)


def test_loading_masks_that_do_not_fit_is_a_checkpoint_error():
    learner = make_learner(sparse_args())
    state = learner.sparse.state_dict()
    state["masks"]["agent.fc1.weight"] = torch.ones(3, 3, dtype=torch.bool)
    with pytest.raises(CheckpointError, match="agent.fc1.weight.*shape"):
        learner.sparse.load_state_dict(state)
    vdn_state = make_learner(sparse_args(mixer="vdn")).sparse.state_dict()
    with pytest.raises(CheckpointError, match="do not fit"):
        learner.sparse.load_state_dict(vdn_state)


def test_a_dense_checkpoint_cannot_be_loaded_as_sparse():
    dense = make_learner(sparse_args(mixer="vdn", enabled=False))
    assert dense.sparse is None
    with pytest.raises(ValueError, match="no sparse masks"):
        make_learner(sparse_args(mixer="vdn")).load_state_dict(dense.state_dict())


@pytest.mark.parametrize("mixer, mixer_class, n_masked", [("vdn", VDNMixer, 4), ("qmix", QMixer, 11)])
def test_the_wrapper_works_unchanged_with_vdn_and_qmix(mixer, mixer_class, n_masked):
    learner = make_learner(sparse_args(mixer=mixer, method="rigl", update_interval=2))
    assert type(learner.mixer) is mixer_class
    assert len(learner.sparse.weights) == n_masked
    train_steps(learner, 6)
    assert masked_positions_are_zero(learner.sparse, learner.sparse.weights)
    assert learner.sparse.sparsity() >= 0.9 - 1e-4
    assert 0.0 < learner.logger.latest("train_flops_ratio") < 1.0
    assert learner.logger.latest("sparsity") == pytest.approx(learner.sparse.sparsity(), abs=0.05)
