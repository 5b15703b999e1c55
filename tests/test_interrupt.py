"""Ctrl-C (SIGINT) and SIGTERM stop a run cleanly: a final checkpoint, Sacred's record marked
INTERRUPTED, one line with the checkpoint and the resume command, a non-zero exit code."""

import os
import signal
import time

import pytest

from cli_runs import model_dir, read_json, sacred_dir, start_main

pytestmark = pytest.mark.slow  # each test stops a src/main.py subprocess mid-training


def interrupted_run(results, signum, times=1, save_every=1000000):
    """Start a long tiny run, send ``signum`` (``times`` times) once it trains, wait for it;
    returns (exit code, output)."""
    log_path = os.path.join(results, "output.txt")
    with open(log_path, "w") as log:
        process = start_main(results, "t_max=1000000", "name=stopped", "save_model=True",
                             f"save_model_interval={save_every}", "save_buffer=True", log=log)
        deadline = time.time() + 300
        while time.time() < deadline:
            with open(log_path) as handle:
                if "Recent stats" in handle.read():  # training has begun
                    break
            assert process.poll() is None, "the run ended before it could be stopped"
            time.sleep(1)
        for _ in range(times):
            process.send_signal(signum)
        code = process.wait(timeout=300)
    with open(log_path) as handle:
        return code, handle.read()


@pytest.mark.parametrize("signum, name", [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")])
def test_a_signal_saves_a_final_checkpoint_and_marks_the_run_interrupted(tmp_path, signum, name):
    results = str(tmp_path)
    code, output = interrupted_run(results, signum)
    assert code == 128 + signum, output[-3000:]
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if f"Interrupted by {name} at t_env" in line]
    assert len(lines) == 1, output[-3000:]
    root = model_dir(results)
    (step,) = [int(entry) for entry in os.listdir(root)]
    assert f"saved {os.path.join(root, str(step))}; resume with: python " in lines[0]
    assert lines[0].endswith(f"checkpoint_path={root}")
    assert sorted(os.listdir(os.path.join(root, str(step)))) == sorted(
        ["learner.pt", "runner.pt", "loop.pt", "buffer.pt", "rng.pt", "meta.json", "agent.th", "mixer.th", "opt.th"])
    assert read_json(os.path.join(sacred_dir(results, "stopped", 1), "run.json"))["status"] == "INTERRUPTED"


def test_a_second_ctrl_c_stops_at_once_and_leaves_the_saved_steps_whole(tmp_path):
    results = str(tmp_path)
    code, output = interrupted_run(results, signal.SIGINT, times=2, save_every=200)
    assert code == 130, output[-3000:]
    assert "Traceback" not in output
    root = model_dir(results)
    for step in os.listdir(root):  # every saved step complete (a half-written one never has a step's name)
        assert "meta.json" in os.listdir(os.path.join(root, step)), step
