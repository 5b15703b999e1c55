"""Checkpoint directories on disk: atomic writes (a save killed midway leaves the previous
step intact and no partial step), replacement, and clear errors for unreadable files."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from utils.checkpoint import (
    CheckpointError,
    _write_synced,
    read_meta,
    read_state,
    remove_stale_temporaries,
    resolve_checkpoint,
    write_checkpoint,
)

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

# Saves step 100, then starts saving step 200 with a part whose pickling blocks, so the
# test can kill the process in the middle of that save.
KILLED_SAVE = textwrap.dedent("""
    import sys, time
    import torch
    sys.path.insert(0, sys.argv[1])
    from utils.checkpoint import write_checkpoint

    class BlocksWhilePickled:
        def __reduce__(self):
            print("saving", flush=True)
            time.sleep(120)
            return (int, ())

    root = sys.argv[2]
    write_checkpoint(root + "/100", {"t_env": 100}, {"learner": {"w": torch.arange(4.0)}})
    write_checkpoint(root + "/200", {"t_env": 200},
                     {"learner": {"w": torch.arange(4.0) * 2}, "slow": BlocksWhilePickled()})
""")


def test_save_killed_midway_leaves_previous_step_whole(tmp_path):
    root = str(tmp_path / "token")
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, SRC, root], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "saving"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    leftovers = [name for name in os.listdir(root) if name.startswith(".tmp_")]
    assert sorted(set(os.listdir(root)) - set(leftovers)) == ["100"]  # no step 200, not even half of it
    assert leftovers  # the killed save's staging directory
    path, step = resolve_checkpoint(root, 0)
    assert step == 100 and read_meta(path) == {"t_env": 100}
    assert torch.equal(read_state(path, "learner")["w"], torch.arange(4.0))

    remove_stale_temporaries(root)
    assert os.listdir(root) == ["100"]


def test_write_replaces_an_existing_step(tmp_path):
    directory = str(tmp_path / "token" / "50")
    write_checkpoint(directory, {"version": 1}, {"a": 1, "b": 2})
    write_checkpoint(directory, {"version": 2}, {"a": 3})
    assert read_meta(directory) == {"version": 2}
    assert sorted(os.listdir(directory)) == ["a.pt", "meta.json"]
    assert read_state(directory, "a") == 3
    assert os.listdir(tmp_path / "token") == ["50"]


def test_load_step_picks_the_closest_saved_step(tmp_path):
    for step in (100, 250, 400):
        write_checkpoint(str(tmp_path / str(step)), {}, {})
    assert resolve_checkpoint(str(tmp_path), 0)[1] == 400
    assert resolve_checkpoint(str(tmp_path), 260)[1] == 250
    assert resolve_checkpoint(str(tmp_path), 10)[1] == 100


def test_truncated_and_garbled_files_name_the_file(tmp_path):
    directory = str(tmp_path / "7")
    write_checkpoint(directory, {"t_env": 7}, {"learner": {"w": torch.zeros(1000)}})
    state_file = os.path.join(directory, "learner.pt")
    with open(state_file, "r+b") as stream:
        stream.truncate(os.path.getsize(state_file) // 3)
    with pytest.raises(CheckpointError, match=f"checkpoint file {state_file} is corrupt or truncated: .+"):
        read_state(directory, "learner")

    with open(os.path.join(directory, "meta.json"), "w") as stream:
        stream.write('{"t_env": ')
    with pytest.raises(CheckpointError, match="meta.json is corrupt or unreadable"):
        read_meta(directory)

    os.remove(os.path.join(directory, "meta.json"))
    with pytest.raises(CheckpointError, match="has no meta.json"):
        read_meta(directory)


class FullDisk:
    """A file that takes 1000 bytes, then fails as a full disk does."""

    def __init__(self, stream):
        self.stream, self.written = stream, 0

    def write(self, data):
        self.written += len(data)
        if self.written > 1000:
            raise OSError(28, "No space left on device")
        return self.stream.write(data)

    def flush(self):
        self.stream.flush()


def test_a_full_disk_during_torch_save_is_an_oserror(tmp_path):
    """torch.save reports the failed write as a RuntimeError; the save path sees the OSError, which
    run.py turns into its one line ("could not write the checkpoint ... (No space left on device)")."""
    with pytest.raises(OSError) as error:
        _write_synced(os.path.join(tmp_path, "x.pt"), lambda stream: torch.save(torch.zeros(10000), FullDisk(stream)))
    assert error.value.errno == 28
