"""Checkpoint files: written atomically, read back with one clear error when unusable.

A checkpoint is a directory ``<models>/<unique_token>/<t_env>/`` holding ``learner.pt``
(networks, optimizer, counters). A write goes to a temporary name in the same directory
and is renamed into place, so a run killed mid-save leaves every earlier checkpoint intact.
"""

import os
import tempfile

import torch


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt, or does not fit this run."""


def atomic_torch_save(obj, path):
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    handle, tmp_path = tempfile.mkstemp(dir=directory, prefix=".tmp_", suffix=".pt")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(obj, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def load_torch_file(path):
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise CheckpointError(f"checkpoint file {path} is corrupt or unreadable: {error}") from None


def saved_steps(checkpoint_root):
    """The env steps saved under ``checkpoint_root`` (subdirectories named by step), sorted."""
    if not os.path.isdir(checkpoint_root):
        raise CheckpointError(f"checkpoint_path {checkpoint_root} is not a directory")
    steps = sorted(int(name) for name in os.listdir(checkpoint_root) if name.isdigit())
    if not steps:
        raise CheckpointError(f"checkpoint_path {checkpoint_root} holds no saved steps (subfolders named by t_env)")
    return steps


def resolve_checkpoint(checkpoint_root, load_step):
    """The directory of the saved step closest to ``load_step`` (0: the latest)."""
    steps = saved_steps(checkpoint_root)
    step = steps[-1] if load_step == 0 else min(steps, key=lambda s: abs(s - load_step))
    return os.path.join(checkpoint_root, str(step)), step


def load_module_state(module, state, what, path):
    """``module.load_state_dict(state)`` with a clear error naming the mismatch."""
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()
        raise CheckpointError(
            f"{what} in {path} does not fit this run's model: {' '.join(line.strip() for line in first_line[:3])}"
        ) from None
