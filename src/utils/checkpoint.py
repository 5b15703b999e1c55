"""Checkpoint directories: written atomically, read back with one clear error when unusable.

A checkpoint is a directory ``<models>/<unique_token>/<t_env>/`` holding ``meta.json``
(who saved it, when, with which config), one ``<part>.pt`` per stateful part of the run and
PyMARL2's ``agent.th``, ``mixer.th`` and ``opt.th`` (utils/pymarl_files.py). The directory is first written under a temporary name beside it (``.tmp_*``) and
renamed into place once every file is on disk, so a run killed in the middle of a save
leaves no half-written step behind and every earlier step intact.
"""

import json
import os
import shutil
import tempfile

import torch

META_FILE = "meta.json"
TMP_PREFIX = ".tmp_"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt, or does not fit this run."""


def _fsync_directory(path):
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write_synced(path, write):
    with open(path, "wb") as stream:
        try:
            write(stream)
        except RuntimeError as error:
            # torch reports a write that failed (a full disk) as a RuntimeError raised while handling the OSError
            if isinstance(error.__context__, OSError):
                raise error.__context__ from None
            raise
        stream.flush()
        os.fsync(stream.fileno())


def remove_stale_temporaries(root):
    """Delete ``.tmp_*`` leftovers of saves that were killed before their rename."""
    if os.path.isdir(root):
        for name in os.listdir(root):
            if name.startswith(TMP_PREFIX):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_checkpoint(directory, meta, states, exports=None):
    """Write ``meta`` (JSON), ``states`` (part name -> state, as ``<part>.pt``) and ``exports``
    (file name -> object, saved with torch under that name) as the checkpoint ``directory``.

    Atomic: readers see either no directory or a complete one. A checkpoint already at
    ``directory`` (a run resumed from an earlier step saving over a later one) is replaced.
    """
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=TMP_PREFIX)
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it 0700; keep the user's umask like other outputs
    try:
        files = {**{f"{name}.pt": state for name, state in states.items()}, **(exports or {})}
        for file_name, state in files.items():
            _write_synced(os.path.join(staging, file_name), lambda stream, state=state: torch.save(state, stream))
        text = json.dumps(meta, indent=2, default=str).encode()
        _write_synced(os.path.join(staging, META_FILE), lambda stream: stream.write(text))
        _fsync_directory(staging)
        if os.path.exists(directory):
            graveyard = tempfile.mkdtemp(dir=parent, prefix=TMP_PREFIX)
            os.rename(directory, os.path.join(graveyard, "replaced"))
            os.rename(staging, directory)
            shutil.rmtree(graveyard)
        else:
            os.rename(staging, directory)
        _fsync_directory(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def read_meta(directory):
    """The ``meta.json`` of a checkpoint directory."""
    path = os.path.join(directory, META_FILE)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {directory} has no {META_FILE} (not a checkpoint of this framework?)")
    try:
        with open(path) as stream:
            return json.load(stream)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"checkpoint file {path} is corrupt or unreadable: {error}") from None


def read_state(directory, name):
    """The saved state of part ``name`` (``<directory>/<name>.pt``)."""
    path = os.path.join(directory, f"{name}.pt")
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file {path} does not exist")
    try:
        # Our own files hold numpy RNG states and plain Python objects, which weights_only refuses.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch reports a truncated or garbled file in many ways
        message = " ".join(str(error).split())
        raise CheckpointError(f"checkpoint file {path} is corrupt or truncated: {message}") from None


def restore_state(part, state, path):
    """``part.load_state_dict(state)``; any mismatch becomes a CheckpointError naming ``path``."""
    try:
        part.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as error:
        message = " ".join(str(error).split())
        raise CheckpointError(f"checkpoint file {path} does not fit this run: {message}") from None


def load_module_state(module, state, what):
    """``module.load_state_dict(state)``; a mismatch is a ValueError with torch's complaint on one line."""
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        details = [line.strip() for line in str(error).strip().splitlines()[1:] if line.strip()]
        shown = "; ".join(details[:3]) + ("; ..." if len(details) > 3 else "")
        raise ValueError(f"{what} network: {shown or error}") from None


def saved_steps(checkpoint_root):
    """The env steps saved under ``checkpoint_root`` (subdirectories named by step), sorted."""
    if not os.path.isdir(checkpoint_root):
        raise CheckpointError(f"checkpoint_path {checkpoint_root} is not a directory")
    steps = sorted(int(name) for name in os.listdir(checkpoint_root) if name.isdigit())
    if not steps:
        raise CheckpointError(f"checkpoint_path {checkpoint_root} holds no saved steps (subfolders named by t_env)")
    return steps


def resolve_checkpoint(checkpoint_root, load_step):
    """The directory of the saved step closest to ``load_step`` (0: the latest), and that step."""
    steps = saved_steps(checkpoint_root)
    step = steps[-1] if load_step == 0 else min(steps, key=lambda s: abs(s - load_step))
    return os.path.join(checkpoint_root, str(step)), step
