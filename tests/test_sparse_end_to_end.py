"""A short sparse run through src/main.py, as a user starts it: the sparsity, FLOPs ratios and
per-layer sparsity reach Sacred's info.json, and the checkpoint holds the masks."""

import glob
import json
import os

import pytest
import torch

from cli_runs import run_main

pytestmark = pytest.mark.slow  # src/main.py subprocess runs

TINY_RUN = [
    "t_max=600", "batch_size=8", "batch_size_run=4", "buffer_size=32", "test_nepisode=4", "test_interval=100000",
    "log_interval=200", "runner_log_interval=200", "learner_log_interval=100", "seed=3",
    "sparse.update_interval=2", "save_model=True", "save_model_interval=100000",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    results = str(tmp_path_factory.mktemp("sparse_run"))
    completed = run_main(results, *TINY_RUN, config="rigl_qmix", tiny=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return results


def test_sparsity_and_flops_ratios_are_logged_to_sacred(finished_run):
    with open(os.path.join(finished_run, "sacred", "3m", "rigl_qmix", "1", "info.json")) as stream:
        info = json.load(stream)
    assert len(info["sparsity"]) >= 2 and len(info["sparsity_T"]) == len(info["sparsity"])
    # measured from the weights: 90% masked, plus any grown weight still at zero
    assert all(0.9 - 1e-4 <= value < 0.95 for value in info["sparsity"])
    assert all(0.1 < value < 0.2 for value in info["train_flops_ratio"])
    assert all(0.1 < value < 0.2 for value in info["infer_flops_ratio"])
    layers = info["layer_sparsity"]
    assert set(layers) == {
        "agent.fc1.weight", "agent.rnn.weight_ih", "agent.rnn.weight_hh", "agent.fc2.weight",
        "mixer.hyper_w_1.0.weight", "mixer.hyper_w_1.2.weight", "mixer.hyper_w_final.0.weight",
        "mixer.hyper_w_final.2.weight", "mixer.hyper_b_1.weight", "mixer.V.0.weight", "mixer.V.2.weight",
    }
    assert all(value >= 0.89 for value in layers.values())


def test_the_checkpoint_holds_masks_that_match_its_weights(finished_run):
    files = glob.glob(os.path.join(finished_run, "models", "*", "*", "learner.pt"))
    assert files
    state = torch.load(files[0], map_location="cpu", weights_only=False)
    masks = state["sparse"]["masks"]
    weights = state["networks"]["agent"]
    for name in ("fc1.weight", "rnn.weight_ih", "rnn.weight_hh", "fc2.weight"):
        mask = masks[f"agent.{name}"]
        assert torch.all(weights[name][~mask] == 0)
        assert torch.all(state["networks"]["target_agent"][name][~mask] == 0)
    total = sum(mask.numel() for mask in masks.values())
    assert sum(int(mask.sum()) for mask in masks.values()) == round(0.1 * total)


def test_a_dense_layer_that_does_not_exist_stops_the_run_with_one_message(tmp_path):
    completed = run_main(str(tmp_path), *TINY_RUN, "sparse.dense_layers=['agent.fc3']", config="rigl_qmix", tiny=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "sparse.dense_layers entry 'agent.fc3' matches no weight matrix" in output
    assert "Traceback" not in output
    assert not glob.glob(os.path.join(str(tmp_path), "models", "*", "*"))
