"""Checkpoints of real runs: a resumed run follows the uninterrupted one, a kill -9 loses no
saved state, evaluate mode, and a corrupt checkpoint reported as one line by main.py."""

import os
import shutil
import signal
import time

import pytest
import torch

from cli_runs import (
    logged_metrics,
    model_dir,
    output_of,
    read_json,
    run_main,
    sacred_dir,
    start_main,
)

pytestmark = pytest.mark.slow  # src/main.py subprocess runs, interrupted and resumed

T_MAX = 800
SAVING = ["save_model=True", "save_model_interval=150", "save_buffer=True"]
PARTS = ("learner.pt", "runner.pt", "loop.pt", "buffer.pt", "rng.pt", "meta.json",
         "agent.th", "mixer.th", "opt.th")  # the last three: PyMARL2's files


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """T_MAX env steps in one go, saving every ~150 steps."""
    results = str(tmp_path_factory.mktemp("uninterrupted"))
    result = run_main(results, f"t_max={T_MAX}", "name=full", *SAVING)
    assert result.returncode == 0, output_of(result)[-3000:]
    return results


def full_metrics(results):
    return read_json(os.path.join(sacred_dir(results, "full", 1), "info.json"))


def assert_follows(resumed_info, full_info, step):
    resumed, full = logged_metrics(resumed_info), logged_metrics(full_info, after=step)
    assert resumed.keys() == full.keys()
    assert all(resumed[key] for key in ("loss_td", "return_mean", "test_return_mean")), resumed
    for key in full:
        assert resumed[key] == full[key], key


def test_resumed_run_follows_the_uninterrupted_one(uninterrupted, tmp_path):
    half = str(tmp_path)
    first = run_main(half, f"t_max={T_MAX // 2}", "name=half", "save_model=True", "save_model_interval=100000",
                     "save_buffer=True")
    assert first.returncode == 0, output_of(first)[-3000:]
    checkpoint_root = model_dir(half)
    (step,) = [int(name) for name in os.listdir(checkpoint_root)]  # only the end-of-training save
    assert T_MAX // 2 < step < T_MAX

    second = run_main(half, f"t_max={T_MAX}", "name=half", "save_model=True", "save_model_interval=100000",
                      f"checkpoint_path={checkpoint_root}")
    assert second.returncode == 0, output_of(second)[-3000:]
    assert f"t_env {step}, episode" in second.stdout  # the resume is reported with its step
    resumed_info = read_json(os.path.join(sacred_dir(half, "half", 2), "info.json"))
    assert_follows(resumed_info, full_metrics(uninterrupted), step)
    # Same run: the resumed one kept the unique_token and saved into the same model directory.
    assert resumed_info["unique_token"] == os.path.basename(checkpoint_root)
    assert max(int(name) for name in os.listdir(checkpoint_root)) > T_MAX


def test_kill_9_then_resume_loses_no_saved_state(uninterrupted, tmp_path):
    killed = str(tmp_path)
    process = start_main(killed, f"t_max={T_MAX}", "name=full", *SAVING)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and process.poll() is None:
            root = os.path.join(killed, "models")
            tokens = os.listdir(root) if os.path.isdir(root) else []
            if tokens and any(name.isdigit() for name in os.listdir(os.path.join(root, tokens[0]))):
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()

    checkpoint_root = model_dir(killed)
    steps = sorted(int(name) for name in os.listdir(checkpoint_root) if name.isdigit())
    assert steps and steps[-1] < T_MAX
    reference_root = model_dir(uninterrupted)
    for step in steps:  # every saved step is whole and equals the uninterrupted run's save at that step
        assert sorted(os.listdir(os.path.join(checkpoint_root, str(step)))) == sorted(PARTS)
        saved = torch.load(os.path.join(checkpoint_root, str(step), "learner.pt"), weights_only=False)
        reference = torch.load(os.path.join(reference_root, str(step), "learner.pt"), weights_only=False)
        for network, tensors in reference["networks"].items():
            for name, tensor in tensors.items():
                assert torch.equal(saved["networks"][network][name], tensor), (step, network, name)

    resumed = run_main(killed, f"t_max={T_MAX}", "name=full", *SAVING, f"checkpoint_path={checkpoint_root}")
    assert resumed.returncode == 0, output_of(resumed)[-3000:]
    resumed_info = read_json(os.path.join(sacred_dir(killed, "full", 2), "info.json"))
    assert_follows(resumed_info, full_metrics(uninterrupted), steps[-1])
    assert read_json(os.path.join(sacred_dir(killed, "full", 1), "run.json"))["status"] == "RUNNING"  # killed


def test_evaluate_runs_greedy_test_episodes_of_a_checkpoint(uninterrupted, tmp_path):
    checkpoint_root = model_dir(uninterrupted)
    step = max(int(name) for name in os.listdir(checkpoint_root))
    result = run_main(str(tmp_path), "evaluate=True", "test_nepisode=8", "name=eval",
                      f"checkpoint_path={checkpoint_root}")
    assert result.returncode == 0, output_of(result)[-3000:]
    assert "Evaluated" in result.stdout and "over 8 test episodes: win rate" in result.stdout

    info = read_json(os.path.join(sacred_dir(str(tmp_path), "eval", 1), "info.json"))
    assert info["test_return_mean_T"] == [step] and info["test_battle_won_mean_T"] == [step]
    assert 0.0 <= info["test_battle_won_mean"][0] <= 1.0
    assert "loss_td" not in info and "return_mean" not in info  # no training happened
    assert not os.path.exists(os.path.join(str(tmp_path), "models"))


def test_truncated_checkpoint_is_one_line_error_from_main(uninterrupted, tmp_path):
    source = model_dir(uninterrupted)
    step = max(int(name) for name in os.listdir(source))
    copy = os.path.join(str(tmp_path), "copy", os.path.basename(source))
    shutil.copytree(os.path.join(source, str(step)), os.path.join(copy, str(step)))
    learner_file = os.path.join(copy, str(step), "learner.pt")
    with open(learner_file, "r+b") as stream:
        stream.truncate(os.path.getsize(learner_file) // 2)

    result = run_main(str(tmp_path), "name=corrupt", f"checkpoint_path={copy}")
    assert result.returncode == 2, output_of(result)[-3000:]
    errors = [line for line in output_of(result).splitlines() if "error:" in line]
    assert len(errors) == 1, output_of(result)[-3000:]
    assert f"checkpoint file {learner_file} is corrupt or truncated" in errors[0]
    assert "Traceback" not in output_of(result)
    assert read_json(os.path.join(sacred_dir(str(tmp_path), "corrupt", 1), "run.json"))["status"] == "FAILED"
