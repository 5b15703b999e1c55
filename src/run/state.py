"""A run's resumable state: what a checkpoint holds, how it is saved and restored.

The state is a dict of named *parts*, each an object with ``state_dict()`` and
``load_state_dict(state)``, saved as ``<part>.pt`` in ``results/models/<unique_token>/<t_env>/``:

- ``learner``: networks (online and target), optimizer, the learner's counters;
- ``runner``: t_env, the episode stats gathered since they were last logged, the envs' PRNG keys;
- ``loop``: the training loop's counters (episodes, last test / log / save step);
- ``buffer``: the replay buffer's contents, position and sampling RNG (written with ``save_buffer``);
- ``rng``: Python's, numpy's and torch's global generators (restored last).

The epsilon schedule is a function of t_env, so t_env restores its position. A component
that gains state (sparse masks, a second buffer) adds it to its own ``state_dict``; a new
stateful part is one more entry in :func:`run_parts`.
"""

import dataclasses
import os
import random
from types import SimpleNamespace

import numpy as np
import torch

from components.schedules import in_env_steps
from sparse.topology import METHODS
from utils.checkpoint import (
    CheckpointError,
    read_meta,
    read_state,
    remove_stale_temporaries,
    resolve_checkpoint,
    restore_state,
    saved_steps,
    write_checkpoint,
)
from utils.config import to_dict
from utils.pymarl_files import is_pymarl_step

FORMAT_VERSION = 1
BUFFER_PART = "buffer"
# What the shapes of the saved networks depend on; a difference is named before any tensor is read.
ARCHITECTURE_KEYS = ("env", "n_agents", "n_actions", "obs_shape", "state_shape", "mac", "agent", "mixer",
                     "obs_agent_id", "obs_last_action")


class GlobalRNG:
    """The process-wide generators of Python, numpy and torch as one stateful part."""

    def state_dict(self):
        state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state):
        random.setstate(state["python"])
        np.random.set_state(state["numpy"])
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


@dataclasses.dataclass
class LoopCounters:
    """The training loop's own counters (t_env lives in the runner)."""

    episode: int
    last_test_t: int
    last_log_t: int
    last_save_t: int

    @classmethod
    def fresh(cls, args):
        """Counters of a new run: test and log on the first iteration."""
        return cls(episode=0, last_test_t=-args.test_interval - 1, last_log_t=-args.log_interval - 1, last_save_t=0)

    def state_dict(self):
        return dataclasses.asdict(self)

    def load_state_dict(self, state):
        for field in dataclasses.fields(self):
            setattr(self, field.name, int(state[field.name]))


def run_parts(learner, runner, buffer, counters):
    """The stateful parts of a training run, by name, in restore order (RNGs last)."""
    return {"learner": learner, "runner": runner, "loop": counters, BUFFER_PART: buffer, "rng": GlobalRNG()}


def architecture(args):
    """The config values the saved networks' shapes depend on."""
    values = {"map_name": vars(args.env_args).get("map_name")}
    values.update({key: vars(args)[key] for key in ARCHITECTURE_KEYS})
    return values


def models_dir(args):
    """``results/models/<unique_token>``: where this run's checkpoints go."""
    return os.path.join(args.local_results_path, "models", args.unique_token)


def save_run_state(args, parts, t_env):
    """Checkpoint every part (the buffer only with ``save_buffer``) under
    ``results/models/<unique_token>/<t_env>/``, atomically; returns that directory."""
    saved = {name: part for name, part in parts.items() if name != BUFFER_PART or args.save_buffer}
    meta = {
        "format": FORMAT_VERSION,
        "unique_token": args.unique_token,
        "t_env": t_env,
        "parts": list(saved),
        "architecture": architecture(args),
        "config": to_dict(args),
    }
    root = models_dir(args)
    remove_stale_temporaries(root)
    states = {name: part.state_dict() for name, part in saved.items()}
    return write_checkpoint(os.path.join(root, str(t_env)), meta, states, exports=parts["learner"].pymarl_files())


@dataclasses.dataclass
class Checkpoint:
    """A saved step chosen by ``checkpoint_path`` and ``load_step``; ``meta`` None for a step
    of PyMARL2's files only."""

    path: str
    step: int
    meta: dict | None

    @property
    def from_pymarl(self):
        """Whether the step holds PyMARL2's files only: networks and optimizer, no run state."""
        return self.meta is None


def open_checkpoint(args):
    """The checkpoint ``args.checkpoint_path`` / ``args.load_step`` names, with its meta data read."""
    path, step = resolve_checkpoint(args.checkpoint_path, args.load_step)
    if is_pymarl_step(path):
        return Checkpoint(path, step, None)
    meta = read_meta(path)
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format {meta.get('format')!r}, this version reads {FORMAT_VERSION}"
        )
    return Checkpoint(path, step, meta)


# What a resumed run may set differently from the run that saved the checkpoint: how long it
# goes on, what it logs and saves and where, and how it runs on this machine. Any other
# difference would change what is learned while the records told the saved run's story.
RESUME_MAY_CHANGE = {
    "name", "label", "t_max", "checkpoint_path", "load_step", "save_model", "save_model_interval", "save_buffer",
    "test_nepisode", "test_interval", "log_interval", "runner_log_interval", "learner_log_interval",
    "use_tensorboard", "progress_bar", "mongo_url", "mongo_db", "local_results_path", "use_cuda",
    "torch_threads", "parallel_worker_timeout", "jit_collection", "env_args.jax_cache_dir",
    "sweep_name", "sweep_point", "num_cpus", "num_gpus", "use_wandb", "wandb_project", "wandb_entity", "wandb_mode",
}


def flat_settings(config, prefix=""):
    """``{"env_args.map_name": "3m", ...}``: nested dicts as dotted keys."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flat_settings(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def check_resume(config):
    """Check a resume before any output is touched; returns notes for the console.

    A CheckpointError names every setting of ``config`` that differs from the checkpoint's run
    (outside :data:`RESUME_MAY_CHANGE`), or a ``t_max`` the checkpoint has already reached. A
    seed left unset takes the saved one (set in ``config``). Settings that the checkpoint does
    not record (it predates them) are returned as notes.
    """
    checkpoint = open_checkpoint(SimpleNamespace(checkpoint_path=config["checkpoint_path"],
                                                 load_step=config["load_step"]))
    if checkpoint.from_pymarl:
        check_pymarl_fits(checkpoint, config["sparse"]["enabled"])
        check_goes_beyond(checkpoint, config["t_max"])
        return []
    saved = flat_settings(checkpoint.meta["config"])
    if config["seed"] is None:
        config["seed"] = saved["seed"]
    current = flat_settings(config)
    differences = [f"{key}={current[key]!r} (checkpoint: {saved[key]!r})" for key in sorted(current)
                   if key in saved and key not in RESUME_MAY_CHANGE and current[key] != saved[key]]
    if differences:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} was saved by a run with other settings: {'; '.join(differences)}. "
            f"Resume with the saved values; only these may change: {', '.join(sorted(RESUME_MAY_CHANGE))}"
        )
    check_goes_beyond(checkpoint, config["t_max"])
    unrecorded = sorted(key for key in current if key not in saved and key not in RESUME_MAY_CHANGE)
    return [f"checkpoint {checkpoint.path} predates the setting {key}; this run uses {key}={current[key]!r}"
            for key in unrecorded] + stretched_schedule_notes(config, saved.get("t_max", config["t_max"]))


def stretched_schedule_notes(config, saved_t_max):
    """Notes on what a new ``t_max`` moves from the resume on: the schedules set in fractions
    of it (the topology updates' stop point and drop-fraction anneal, ``td_lambda_schedule``'s
    fractional points) follow the new ``t_max``, not the saved run's."""
    t_max = config["t_max"]
    if t_max == saved_t_max:
        return []
    notes = []
    sparse = config["sparse"]
    if sparse["enabled"] and METHODS[sparse["method"]].evolves:
        stop = sparse["stop_fraction"]
        notes.append(f"t_max={t_max} (checkpoint's run: {saved_t_max}) moves the topology updates' end to env step "
                     f"{round(stop * t_max)} (was {round(stop * saved_t_max)}: sparse.stop_fraction={stop}) and "
                     f"stretches the {sparse['drop_schedule']} drop-fraction schedule with it")
    if any(isinstance(point, float) for point, _ in config["td_lambda_schedule"]):
        notes.append(f"t_max={t_max} (checkpoint's run: {saved_t_max}) moves td_lambda_schedule's points given as "
                     f"fractions of t_max to env steps {in_env_steps(config['td_lambda_schedule'], t_max)} "
                     f"(were {in_env_steps(config['td_lambda_schedule'], saved_t_max)})")
    return notes


def check_goes_beyond(checkpoint, t_max):
    if t_max <= checkpoint.step:
        raise CheckpointError(f"t_max={t_max} does not go beyond the checkpoint's step {checkpoint.step}: "
                              "nothing to train (raise t_max)")


def check_pymarl_fits(checkpoint, sparse_enabled):
    """PyMARL2's files carry no masks: a CheckpointError for a sparse run."""
    if sparse_enabled:
        raise CheckpointError(f"checkpoint {checkpoint.path} holds PyMARL2's files, which carry no sparse masks: "
                              "use it with a dense config (sparse.enabled=False)")


def is_latest(checkpoint):
    """Whether ``checkpoint`` is the last step saved in its run's folder."""
    return checkpoint.step == saved_steps(os.path.dirname(checkpoint.path))[-1]


def check_compatible(checkpoint, args):
    """A CheckpointError naming each architecture value that differs from this run's."""
    saved, current = checkpoint.meta["architecture"], architecture(args)
    differences = [
        f"{key} {saved.get(key)!r} (checkpoint) vs {value!r} (this run)"
        for key, value in current.items() if saved.get(key) != value
    ]
    if differences:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} was saved for another model or map: {'; '.join(differences)}"
        )


def restore_run_state(checkpoint, args, parts, log):
    """Load each of ``parts`` from ``checkpoint``, in order, after checking the architecture.

    A checkpoint saved without its buffer resumes with an empty one (with a warning); any
    other missing part, and any part that does not fit, is a CheckpointError.
    """
    if checkpoint.from_pymarl:
        start_from_pymarl(checkpoint, args, parts, log)
        return
    check_compatible(checkpoint, args)
    for name, part in parts.items():
        if name not in checkpoint.meta["parts"]:
            if name == BUFFER_PART:
                log.warning(f"checkpoint {checkpoint.path} holds no replay buffer (saved with save_buffer=False): "
                            "training resumes with an empty buffer and will not follow the uninterrupted run")
                continue
            raise CheckpointError(f"checkpoint {checkpoint.path} holds no '{name}' state")
        restore_state(part, read_state(checkpoint.path, name), os.path.join(checkpoint.path, f"{name}.pt"))


def start_from_pymarl(checkpoint, args, parts, log):
    """Load a step of PyMARL2's files: the agent and mixer (their targets become copies), and
    when training the optimizer, with t_env at the step; the rest of the run starts fresh."""
    check_pymarl_fits(checkpoint, args.sparse.enabled)
    learner = parts["learner"]
    training = "runner" in parts
    try:
        learner.load_pymarl_files(checkpoint.path, with_optimizer=training)
    except ValueError as error:
        raise CheckpointError(f"checkpoint {checkpoint.path} (PyMARL2's files) does not fit this run: {error}") from None
    if training:
        parts["runner"].t_env = checkpoint.step
        parts["loop"].last_save_t = checkpoint.step
        untrained = [name for name in learner.trained_networks() if name not in ("agent", "mixer")]
        log.warning(
            f"checkpoint {checkpoint.path} holds PyMARL2's files only: training starts from its agent, mixer and "
            f"optimizer at t_env {checkpoint.step}; the target networks are their copies; the replay buffer, "
            f"RNGs and loop counters start fresh"
            + (f"; not in the files, so untrained: {', '.join(untrained)}" if untrained else "")
        )
