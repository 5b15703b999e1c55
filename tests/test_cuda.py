"""The CUDA path (``use_cuda=True``): masks, targets, the replay buffer and checkpoints on a GPU.

Every test here skips, with its reason, where torch sees no GPU (the project's own machines);
on a machine with one, install the requirements with a CUDA build of torch (README, GPU) and
run ``python -m pytest -q tests/test_cuda.py``. The GPU results are compared with the same
computation on the CPU, so a device mix-up shows as an error or as different numbers.
"""

import os

import pytest
import torch

from cli_runs import model_dir, output_of, run_main
from run.build import build_replay_buffer
from sparse_setup import make_args, make_learner, random_batch

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU visible to torch (needs a GPU and a CUDA build of torch, README: GPU)",
)


def mast_args(**overrides):
    """MAST-QMIX (sparse, Soft Mellowmax, hybrid lambda, dual buffer) on 3m shapes, small batches,
    a topology update every second learner update."""
    sparse = {"update_interval": 2, **overrides.pop("sparse", {})}
    return make_args("mast_qmix", t_max=10_000, batch_size=4, target_update_interval=1, sparse=sparse, **overrides)


def learner_on(device, args):
    torch.manual_seed(0)
    learner = make_learner(args)
    return learner.to(device)


def agent_qs(learner, batch):
    return learner.mac.unroll(batch).detach().cpu()


def test_masks_stay_on_the_gpu_and_keep_the_weights_sparse_through_topology_updates():
    args = mast_args()
    learner = learner_on("cuda", args)
    for step in range(6):  # three topology updates
        learner.train(random_batch(args, seed=step).to("cuda"), 100 * step, step)
    sparse = learner.sparse
    for name, weight in sparse.weights.items():
        mask = sparse.masks[name]
        assert weight.is_cuda and mask.is_cuda, name
        assert torch.count_nonzero(weight[mask == 0]) == 0, f"{name}: weights alive outside the mask"
    masked_out = sum(int((mask == 0).sum()) for mask in sparse.masks.values())
    assert masked_out / sum(mask.numel() for mask in sparse.masks.values()) == pytest.approx(args.sparse.sparsity,
                                                                                             abs=0.005)


def test_the_loss_and_its_gradients_on_the_gpu_equal_the_cpus():
    # Compared before any optimizer step: Adam's first steps are about lr * sign(gradient), so
    # a gradient near 0 whose sign differs in the last bits would move a weight by lr.
    args = mast_args()
    cpu, gpu = learner_on("cpu", args), learner_on("cuda", args)
    for learner, batch in ((cpu, random_batch(args, seed=3)), (gpu, random_batch(args, seed=3).to("cuda"))):
        loss, _ = learner.compute_loss(batch, 600_000)  # past the hybrid switch: TD(0.6) targets
        loss.backward()
        learner.sparse.after_backward(600_000)
    for cpu_param, gpu_param in zip(cpu.params, gpu.params):
        assert gpu_param.grad.is_cuda
        torch.testing.assert_close(gpu_param.grad.cpu(), cpu_param.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("operator, scale", [("max", "fixed"), ("soft_mellowmax", "fixed"),
                                             ("soft_mellowmax", "spread")])
def test_next_state_values_on_the_gpu_equal_the_cpus(operator, scale):
    learner = learner_on("cpu", mast_args(target_operator=operator, sm_scale=scale))
    generator = torch.Generator().manual_seed(0)
    target, online = torch.randn(4, 11, 3, 8, generator=generator), torch.randn(4, 11, 3, 8, generator=generator)
    avail = (torch.rand(4, 11, 3, 8, generator=generator) < 0.6).int()
    avail[0, 0, 0] = 0  # an agent with no available action gets 0
    on_cpu = learner.targets.agent_next_values(target, online, avail)
    on_gpu = learner.targets.agent_next_values(target.cuda(), online.cuda(), avail.cuda())
    assert on_gpu.is_cuda and torch.isfinite(on_gpu).all()
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cpu_only", [True, False])
def test_the_dual_buffer_takes_gpu_episodes_and_samples_for_the_gpu(cpu_only):
    args = mast_args(buffer_cpu_only=cpu_only, buffer_size=16, on_policy_buffer_size=4)
    args.device = "cuda"
    buffer = build_replay_buffer(args)
    episodes = random_batch(args, batch_size=8, steps=5).to("cuda")
    buffer.insert_episode_batch(episodes)
    sample = buffer.sample(4)
    assert sample.data["obs"].device.type == ("cpu" if cpu_only else "cuda")
    sample.to("cuda")
    assert all(value.is_cuda for value in sample.data.values())


def test_a_checkpoint_written_on_the_gpu_restores_on_the_cpu(tmp_path):
    args = mast_args()
    gpu = learner_on("cuda", args)
    for step in range(4):
        gpu.train(random_batch(args, seed=step).to("cuda"), 100 * step, step)
    path = tmp_path / "learner.pt"
    torch.save(gpu.state_dict(), path)
    cpu = learner_on("cpu", mast_args(seed=5))
    cpu.load_state_dict(torch.load(path, map_location="cpu", weights_only=False))
    assert all(not mask.is_cuda for mask in cpu.sparse.masks.values())
    batch = random_batch(args, seed=9)
    torch.testing.assert_close(agent_qs(cpu, batch), agent_qs(gpu, random_batch(args, seed=9).to("cuda")),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_a_cuda_run_saves_checkpoints_that_resume_and_evaluate(tmp_path):
    results = str(tmp_path / "results")
    first = run_main(results, "use_cuda=True", "t_max=600", "save_model=True", "save_buffer=True",
                     "save_model_interval=300", config="mast_qmix")
    assert first.returncode == 0, output_of(first)
    assert "no GPU is visible" not in output_of(first)
    checkpoint = model_dir(results)
    resumed = run_main(results, "use_cuda=True", "t_max=1200", f"checkpoint_path={checkpoint}", config="mast_qmix")
    assert resumed.returncode == 0, output_of(resumed)
    evaluated = run_main(results, "use_cuda=False", "evaluate=True", f"checkpoint_path={checkpoint}",
                         config="mast_qmix")
    assert evaluated.returncode == 0, output_of(evaluated)
    assert os.listdir(checkpoint)
