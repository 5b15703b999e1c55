"""The three runners collect well-formed episodes; a dead parallel worker is named."""

import os
import signal
import time

import numpy as np
import pytest
import torch

from runner_setup import collect
from runners.env_backends import SubprocessEnvs, WorkerError
from utils.config import layered_config, to_namespace


def runner_args(runner, batch_size_run):
    config = layered_config("qmix", "smax")
    config.update(runner=runner, batch_size_run=batch_size_run, seed=5, parallel_worker_timeout=60)
    args = to_namespace(config)
    args.device = "cpu"
    return args


@pytest.mark.parametrize("runner_name, batch_size_run", [("episode", 1), ("vectorized", 4), ("parallel", 2)])
def test_runner_collects_well_formed_episodes(runner_name, batch_size_run):
    batch, t_env = collect(runner_args(runner_name, batch_size_run))
    filled = batch["filled"].squeeze(-1)
    lengths = filled.sum(dim=1) - 1  # the state after the last transition is stored too
    assert t_env == int(lengths.sum())
    for episode in range(batch_size_run):
        length = int(lengths[episode])
        assert filled[episode, : length + 1].all() and not filled[episode, length + 1:].any()
        terminated = batch["terminated"][episode, :, 0]
        assert terminated[: length - 1].sum() == 0 and terminated[length:].sum() == 0
        chosen = batch["actions"][episode, :length]
        avail = batch["avail_actions"][episode, :length]
        assert torch.gather(avail, -1, chosen).all(), "an unavailable action was stored"
        assert (batch["actions_onehot"][episode, :length].argmax(-1) == chosen.squeeze(-1)).all()
        assert batch["state"][episode, length].abs().sum() > 0  # the final state is stored


def test_parallel_worker_that_dies_is_named():
    config = layered_config("qmix", "smax")
    envs = SubprocessEnvs("smax", config["env_args"], n_envs=2, seed=0, timeout=60)
    try:
        envs.reset()
        os.kill(envs.processes[1].pid, signal.SIGKILL)
        envs.processes[1].join(timeout=10)
        with pytest.raises(WorkerError, match="worker 1 died"):
            envs.step(np.full((2, 3), 4), np.array([True, True]))
    finally:
        envs.close()


def test_a_stopped_parallel_worker_is_reported_and_closing_still_ends_every_worker():
    config = layered_config("qmix", "smax")
    envs = SubprocessEnvs("smax", config["env_args"], n_envs=2, seed=0, timeout=120)
    try:
        envs.reset()
        envs.step(np.full((2, 3), 4), np.array([True, True]))  # compiled: the next step answers at once
        envs.timeout = 2
        os.kill(envs.processes[1].pid, signal.SIGSTOP)
        with pytest.raises(WorkerError, match="worker 1 gave no answer within 2 s"):
            envs.step(np.full((2, 3), 4), np.array([True, True]))
    finally:
        started = time.time()
        envs.close()
    assert time.time() - started < 30
    assert not any(process.is_alive() for process in envs.processes)
