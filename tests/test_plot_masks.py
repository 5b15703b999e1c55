"""benchmarks/plot_masks.py: the mask figures and the unit-type table of a saved sparse checkpoint."""

import os
import subprocess
import sys

import numpy as np
import pytest

from cli_runs import REPO
from run.build import build_replay_buffer, build_runner_and_learner
from run.state import LoopCounters, run_parts, save_run_state
from utils.config import layered_config, merge_layer, to_namespace
from utils.logging import Logger, get_console_logger

sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import plot_masks  # noqa: E402


def saved_sparse_run(results, map_name, agent="n_rnn"):
    layer = {"batch_size": 4, "batch_size_run": 2, "buffer_size": 8, "seed": 1, "local_results_path": results,
             "env_args": {"map_name": map_name}, "agent": agent}
    args = to_namespace(merge_layer(layered_config("rigl_qmix", "smax"), layer, "the test", allow_new_keys=False))
    args.device, args.unique_token = "cpu", "masks_test"
    runner, learner = build_runner_and_learner(args, Logger(get_console_logger()))
    save_run_state(args, run_parts(learner, runner, build_replay_buffer(args), LoopCounters.fresh(args)), 0)
    runner.close_env()
    return os.path.join(results, "models", "masks_test"), learner


@pytest.mark.slow
def test_the_masks_and_the_input_connections_of_a_heterogeneous_map(tmp_path):
    models, learner = saved_sparse_run(str(tmp_path), "2s3z")
    masks, config, step = plot_masks.saved_masks(models, 0)
    assert step == 0 and set(masks) == set(learner.sparse.masks)
    fc1 = learner.sparse.masks["agent.fc1.weight"].numpy()
    names, agent_types, type_names = plot_masks.input_feature_names(config)
    assert len(names) == fc1.shape[1]  # every input of the agent network is named
    assert agent_types == ["stalker", "stalker", "zealot", "zealot", "zealot"]
    counts = fc1.sum(axis=0).astype(np.int64)
    table = plot_masks.unit_type_table(counts, names, agent_types, type_names)
    stalker_bit = counts[names.index(f"own: unit_type_bit_{type_names.index('stalker')}")]
    assert f"| stalker | 0, 1 | {stalker_bit} |" in table
    assert f"{counts[names.index('agent id 2')]} / {counts[names.index('agent id 3')]}" in table

    out = tmp_path / "figures"
    result = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "plot_masks.py"), models,
                             "--out-dir", str(out)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "layer_masks.png").stat().st_size > 0 and (out / "input_connections.png").stat().st_size > 0
    assert "| zealot | 2, 3, 4 |" in result.stdout


@pytest.mark.slow
def test_one_network_per_agent_gives_each_agents_count_of_input_connections(tmp_path):
    models, learner = saved_sparse_run(str(tmp_path), "2s3z", agent="rnn_ns")
    fc1 = learner.sparse.masks["agent.fc1.weight"].numpy()  # [agents, hidden, inputs]
    out = tmp_path / "figures"
    result = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "plot_masks.py"), models,
                             "--out-dir", str(out)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "input_connections.png").stat().st_size > 0
    totals = fc1.sum(axis=(1, 2)).astype(np.int64)
    assert f"| 0 | stalker | {totals[0]} |" in result.stdout and f"| 4 | zealot | {totals[4]} |" in result.stdout
    assert f"| mean of the zealots | zealot | {totals[2:].mean():.1f} |" in result.stdout
