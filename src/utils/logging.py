"""Stats logging to the console, Sacred (info.json and metrics.json), TensorBoard and W&B.

Every stat is logged with the env step it belongs to. In Sacred's info.json each stat
``key`` has its values and a ``key_T`` list of env steps, as in PyMARL2; in Weights & Biases
every stat is plotted against ``t_env``, a metric logged with it.
"""

import logging
import os
import sys
from collections import defaultdict

import numpy as np


class TrackingError(RuntimeError):
    """A tracking service the config asks for cannot record the run."""


class Logger:
    def __init__(self, console_logger):
        self.console_logger = console_logger
        self.sacred_run = None
        self.tb_writer = None
        self.wandb_run = None
        self.stats = defaultdict(list)

    def setup_sacred(self, sacred_run):
        self.sacred_run = sacred_run

    def setup_tensorboard(self, directory, resumed_step=None):
        """Write to ``directory``; a run resumed at ``resumed_step`` hides the events that the
        interrupted run wrote after that step, so curves have no doubled stretch."""
        from torch.utils.tensorboard import SummaryWriter

        self.tb_writer = SummaryWriter(log_dir=directory, purge_step=resumed_step)

    def setup_wandb(self, config, run_name, directory):
        """Log to Weights & Biases: run ``run_name`` in the config's ``wandb_project``, files under
        ``directory``; a run that cannot start is a TrackingError with W&B's reason on one line."""
        import wandb

        os.makedirs(directory, exist_ok=True)
        try:
            self.wandb_run = wandb.init(project=config["wandb_project"], entity=config["wandb_entity"] or None,
                                        mode=config["wandb_mode"], dir=directory, name=run_name,
                                        group=config["name"], config=config, settings=wandb.Settings(quiet=True))
        except Exception as error:  # W&B reports a missing login, a bad entity, no network in many ways
            raise TrackingError(f"use_wandb: W&B did not start ({' '.join(str(error).split())[:300]}); "
                               "wandb_mode=offline logs to files without an account") from None
        self.wandb_run.define_metric("t_env")
        self.wandb_run.define_metric("*", step_metric="t_env")

    def set_info(self, key, value):
        """Store ``value`` under ``key`` in the run's info (Sacred's info.json), replacing any earlier one."""
        if self.sacred_run is not None:
            self.sacred_run.info[key] = value

    def log_stat(self, key, value, t):
        value = float(value)
        self.stats[key].append((int(t), value))
        if self.tb_writer is not None:
            self.tb_writer.add_scalar(key, value, int(t))
        if self.wandb_run is not None:
            self.wandb_run.log({key: value, "t_env": int(t)})
        if self.sacred_run is not None:
            info = self.sacred_run.info
            info.setdefault(key, []).append(value)
            info.setdefault(key + "_T", []).append(int(t))
            self.sacred_run.log_scalar(key, value, int(t))

    def latest(self, key, default=None):
        return self.stats[key][-1][1] if self.stats.get(key) else default

    def print_recent_stats(self):
        """One block of the latest stats (each averaged over its last 5 values)."""
        if not self.stats.get("episode"):
            return
        t_env, episode = self.stats["episode"][-1]
        lines = [f"Recent stats | t_env: {t_env:>10} | Episode: {episode:>8.0f}"]
        cells = []
        for key in sorted(k for k in self.stats if k != "episode"):
            window = 1 if key == "epsilon" else 5
            cells.append(f"{key + ':':<24}{np.mean([v for _, v in self.stats[key][-window:]]):>10.4f}")
        lines += ["    ".join(cells[i:i + 4]) for i in range(0, len(cells), 4)]
        self.console_logger.info("\n".join(lines))

    def flush(self):
        """Push buffered TensorBoard events to disk (done with every checkpoint)."""
        if self.tb_writer is not None:
            self.tb_writer.flush()

    def close(self, failed=False):
        """Close the writers; ``failed``: the run stopped on an error or a signal (W&B marks it so)."""
        if self.tb_writer is not None:
            self.tb_writer.close()
        if self.wandb_run is not None:
            self.wandb_run.finish(exit_code=1 if failed else 0)


class CurrentStdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time of writing, so that Sacred's
    output capture (which swaps ``sys.stdout`` once a run starts) records the log."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _):
        pass


def get_console_logger(name="mast"):
    """A logger that prints ``[LEVEL time] name message`` to the console, once."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = CurrentStdoutHandler()
        handler.setFormatter(logging.Formatter("[%(levelname)s %(asctime)s] %(name)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
