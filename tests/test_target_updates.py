"""Target networks: hard copies every ``target_update_interval`` episodes, or with
``target_update_tau`` below 1 a Polyak step after every learner update (EPyMARL's soft
updates), which keeps a sparse network's target as sparse as the network."""

import pytest
import torch

from sparse_setup import make_args, make_learner, random_batch


def parameters(learner):
    return {name: [p.detach().clone() for p in module.parameters()] for name, module in learner.networks().items()}


@pytest.mark.parametrize("alg", ["qmix", "mast_qmix", "ow_qmix"])
def test_a_soft_update_moves_every_target_tau_of_the_way_after_each_update(alg):
    args = make_args(alg, batch_size=4, target_update_tau=0.25, target_update_interval=10**6)
    learner = make_learner(args)
    learner.train(random_batch(args), t_env=0, episode_num=0)  # online and target now differ
    before = parameters(learner)
    learner.train(random_batch(args, seed=1), t_env=10, episode_num=4)
    after = parameters(learner)
    for name in learner.trained_networks():
        for old_target, online, target in zip(before["target_" + name], after[name], after["target_" + name]):
            assert torch.allclose(target, old_target + 0.25 * (online - old_target), atol=1e-7)
        assert any(not torch.equal(a, b) for a, b in zip(after[name], after["target_" + name]))


def test_soft_updates_keep_the_sparse_targets_masked_through_topology_updates():
    args = make_args("mast_qmix", batch_size=4, target_update_tau=0.5, sparse={"update_interval": 1})
    learner = make_learner(args)
    for step in range(3):
        learner.train(random_batch(args, seed=step), t_env=10 * step, episode_num=step)
    targets = dict(learner.sparse.target_weights)
    for name, mask in learner.sparse.masks.items():
        assert not torch.any(targets[name][~mask.bool()])
        assert torch.any(targets[name][mask.bool()])


def test_with_tau_1_targets_stay_until_the_interval_and_are_then_copied():
    args = make_args("qmix", batch_size=4, target_update_interval=8)
    learner = make_learner(args)
    start = parameters(learner)
    learner.train(random_batch(args), t_env=0, episode_num=4)
    assert all(torch.equal(a, b) for a, b in zip(start["target_mixer"], parameters(learner)["target_mixer"]))
    learner.train(random_batch(args, seed=1), t_env=10, episode_num=8)
    after = parameters(learner)
    assert all(torch.equal(a, b) for a, b in zip(after["mixer"], after["target_mixer"]))
