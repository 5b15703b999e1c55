"""A run's state through a checkpoint, in process: everything saved comes back, and a
checkpoint of another map or architecture is refused with one error naming the mismatch."""

import os
import shutil

import numpy as np
import pytest
import torch

import run.loop as training
from components.episode_batch import EpisodeBatch
from run.build import build_replay_buffer, build_runner_and_learner
from run.state import LoopCounters, open_checkpoint, restore_run_state, run_parts, save_run_state
from utils.checkpoint import CheckpointError
from utils.config import layered_config, merge_layer, to_namespace
from utils.logging import Logger, get_console_logger

STEP = 123


def make_run(results, checkpoint_path="", **overrides):
    """The components of a small QMIX run on SMAX, as the run builds them (run/build.py)."""
    layer = {"batch_size": 4, "batch_size_run": 2, "buffer_size": 8, "seed": 1, "local_results_path": results,
             "save_buffer": True, "checkpoint_path": checkpoint_path, **overrides}
    args = to_namespace(merge_layer(layered_config("qmix", "smax"), layer, "the test", allow_new_keys=False))
    args.device = "cpu"
    args.unique_token = "state_test"
    runner, learner = build_runner_and_learner(args, Logger(get_console_logger()))
    return args, run_parts(learner, runner, build_replay_buffer(args), LoopCounters.fresh(args))


def fill_buffer(buffer, episodes):
    batch = EpisodeBatch(buffer.scheme, buffer.groups, episodes, buffer.max_seq_length)
    for value in batch.data.values():
        value.copy_(torch.randint_like(value, 0, 2))
    buffer.insert_episode_batch(batch)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint of a 3m run whose state moved away from a fresh run's."""
    results = str(tmp_path_factory.mktemp("state"))
    args, parts = make_run(results)
    fill_buffer(parts["buffer"], 6)
    parts["buffer"].sample(4)  # move the buffer's sampling RNG
    parts["runner"].t_env = STEP
    parts["runner"].train_returns.extend([1.5, 2.5])
    parts["loop"].episode = 42
    parts["learner"].last_target_update_episode = 40
    with torch.no_grad():
        for parameter in parts["learner"].mac.parameters():
            parameter.add_(1.0)
    torch.rand(5)
    save_run_state(args, parts, STEP)
    expected = {name: part.state_dict() for name, part in parts.items()}
    return os.path.join(results, "models", "state_test"), expected


def assert_same(a, b, where):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    else:
        assert a == b, where


def test_every_part_comes_back_exactly(saved, tmp_path):
    root, expected = saved
    args, parts = make_run(str(tmp_path), checkpoint_path=root, seed=99)
    assert parts["runner"].state_dict()["envs"]["vector_env"]["key"].tolist() != \
        expected["runner"]["envs"]["vector_env"]["key"].tolist()  # another seed: other env keys before loading
    checkpoint = open_checkpoint(args)
    assert checkpoint.step == STEP and checkpoint.meta["unique_token"] == "state_test"
    restore_run_state(checkpoint, args, parts, get_console_logger())
    rng_after_load = parts["rng"].state_dict()
    for name, part in parts.items():
        assert_same(part.state_dict() if name != "rng" else rng_after_load, expected[name], name)


def test_an_evaluation_builds_no_replay_buffer(saved, tmp_path, monkeypatch):
    root, _ = saved

    def no_buffer(args):
        raise AssertionError("an evaluation allocated a replay buffer")

    monkeypatch.setattr(training, "build_replay_buffer", no_buffer)
    args, _ = make_run(str(tmp_path), checkpoint_path=root, evaluate=True, test_nepisode=2)
    logger = Logger(get_console_logger())
    training.run_sequential(args, logger, open_checkpoint(args))
    assert logger.latest("test_return_mean") is not None


def test_other_map_is_named(saved, tmp_path):
    root, _ = saved
    args, parts = make_run(str(tmp_path), checkpoint_path=root, env_args={"map_name": "2s3z"})
    with pytest.raises(CheckpointError) as error:
        restore_run_state(open_checkpoint(args), args, parts, get_console_logger())
    message = str(error.value)
    assert os.path.join(root, str(STEP)) in message
    assert "map_name '3m' (checkpoint) vs '2s3z' (this run)" in message
    assert "n_agents 3 (checkpoint) vs 5 (this run)" in message and "\n" not in message


def test_other_mixer_is_named(saved, tmp_path):
    root, _ = saved
    args, parts = make_run(str(tmp_path), checkpoint_path=root, mixer="vdn")
    with pytest.raises(CheckpointError, match=r"mixer 'qmix' \(checkpoint\) vs 'vdn' \(this run\)"):
        restore_run_state(open_checkpoint(args), args, parts, get_console_logger())


def test_other_network_width_names_file_and_tensor(saved, tmp_path):
    root, _ = saved
    args, parts = make_run(str(tmp_path), checkpoint_path=root, rnn_hidden_dim=32)
    with pytest.raises(CheckpointError) as error:
        restore_run_state(open_checkpoint(args), args, parts, get_console_logger())
    message = str(error.value)
    assert message.startswith(f"checkpoint file {os.path.join(root, str(STEP), 'learner.pt')} does not fit this run")
    assert "agent network: size mismatch for" in message and "\n" not in message


def test_other_env_count_is_named(saved, tmp_path):
    root, _ = saved
    args, parts = make_run(str(tmp_path), checkpoint_path=root, batch_size_run=3)
    with pytest.raises(CheckpointError, match=r"runner\.pt does not fit this run: it holds the state of 2 envs, "
                                              r"this run steps 3"):
        restore_run_state(open_checkpoint(args), args, parts, get_console_logger())


def test_missing_part_and_missing_steps_are_named(saved, tmp_path):
    root, _ = saved
    copy = str(tmp_path / "copy")
    shutil.copytree(root, copy)
    os.remove(os.path.join(copy, str(STEP), "rng.pt"))
    args, parts = make_run(str(tmp_path), checkpoint_path=copy)
    with pytest.raises(CheckpointError, match=r"rng\.pt does not exist"):
        restore_run_state(open_checkpoint(args), args, parts, get_console_logger())

    empty = tmp_path / "empty"
    empty.mkdir()
    args.checkpoint_path = str(empty)
    with pytest.raises(CheckpointError, match="holds no saved steps"):
        open_checkpoint(args)


class WarningRecorder:
    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


def test_checkpoint_without_buffer_resumes_with_an_empty_one_and_says_so(tmp_path):
    args, parts = make_run(str(tmp_path / "saved"), save_buffer=False)
    fill_buffer(parts["buffer"], 6)
    parts["runner"].t_env = STEP
    save_run_state(args, parts, STEP)
    root = os.path.join(str(tmp_path / "saved"), "models", "state_test")
    assert "buffer.pt" not in os.listdir(os.path.join(root, str(STEP)))

    args, parts = make_run(str(tmp_path / "resumed"), checkpoint_path=root)
    log = WarningRecorder()
    restore_run_state(open_checkpoint(args), args, parts, log)
    assert parts["buffer"].episodes_in_buffer == 0 and parts["runner"].t_env == STEP
    assert len(log.warnings) == 1 and "holds no replay buffer" in log.warnings[0]
