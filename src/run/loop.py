"""The training loop: build the run's parts (:mod:`run.build`), then collect, store, learn,
test, log and save until ``t_max`` environment steps; or, with ``evaluate``, test a checkpoint."""

import datetime
import math
import os
import random
import signal
import sys
import time

import numpy as np
import torch

from run.build import build_replay_buffer, build_runner_and_learner
from run.state import (
    LoopCounters,
    is_latest,
    models_dir,
    open_checkpoint,
    restore_run_state,
    run_parts,
    save_run_state,
)
from utils.checkpoint import CheckpointError
from utils.config import scenario_name, to_namespace
from utils.interrupt import StopSignals, TrainingInterrupted
from utils.logging import Logger
from utils.progress import ProgressReporter, terminal_stream


def run(sacred_run, config, console_logger):
    args = to_namespace(config)
    args.device = "cpu"
    if args.use_cuda:
        if torch.cuda.is_available():
            args.device = "cuda"
        else:
            console_logger.warning("use_cuda is True but no GPU is visible: training on the CPU")
    torch.set_num_threads(args.torch_threads)
    seed_everything(args.seed)

    checkpoint = open_checkpoint(args) if args.checkpoint_path else None
    continues = checkpoint is not None and not args.evaluate and not checkpoint.from_pymarl and is_latest(checkpoint)
    if continues:
        # A resumed run continues the saved one: same unique_token, so the same model and TensorBoard directories.
        args.unique_token = checkpoint.meta["unique_token"]
    else:
        map_name = scenario_name(args.env, vars(args.env_args))
        args.unique_token = f"{args.name}_seed{args.seed}_{map_name}_{datetime.datetime.now():%Y-%m-%d_%H-%M-%S}"
        if checkpoint is not None and not args.evaluate and not checkpoint.from_pymarl:
            console_logger.info(f"{checkpoint.path} is not the latest step of its run: this run continues from it "
                                f"as {args.unique_token}, leaving the saved steps as they are")
    sacred_run.info["unique_token"] = args.unique_token
    if args.sweep_name:
        sacred_run.info["sweep"] = {"name": args.sweep_name, "point": args.sweep_point}
    logger = Logger(console_logger)
    logger.setup_sacred(sacred_run)
    if args.use_tensorboard:
        resumed_step = checkpoint.step if continues else None
        logger.setup_tensorboard(os.path.join(args.local_results_path, "tb_logs", args.unique_token), resumed_step)
    try:
        if args.use_wandb:
            logger.setup_wandb(config, args.unique_token, args.local_results_path)
        run_sequential(args, logger, checkpoint)
    except BaseException:
        logger.close(failed=True)
        raise
    logger.close()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def evaluate_sequential(args, runner, learner, logger, checkpoint):
    """``test_nepisode`` test episodes with the checkpoint's networks; logs and reports the
    win rate and return at the checkpoint's t_env."""
    restore_run_state(checkpoint, args, {"learner": learner}, logger.console_logger)
    runner.t_env = checkpoint.step
    for _ in range(n_test_runs(args, runner)):
        runner.run(test_mode=True)
    win_rate, mean_return = logger.latest("test_battle_won_mean"), logger.latest("test_return_mean")
    logger.console_logger.info(
        f"Evaluated {checkpoint.path} over {n_test_runs(args, runner) * runner.batch_size} test episodes: "
        f"win rate {'-' if win_rate is None else f'{win_rate:.3f}'}, return {mean_return:.3f}"
    )


def n_test_runs(args, runner):
    """Runner calls that collect at least ``test_nepisode`` test episodes."""
    return math.ceil(args.test_nepisode / runner.batch_size)


def run_sequential(args, logger, checkpoint):
    """Train until ``t_max`` env steps (from ``checkpoint``'s state when resuming), or with
    ``evaluate`` only test the checkpoint."""
    runner, learner = build_runner_and_learner(args, logger)
    try:
        if args.evaluate:
            evaluate_sequential(args, runner, learner, logger, checkpoint)
        else:
            train_sequential(args, logger, checkpoint, runner, build_replay_buffer(args), learner)
    finally:
        runner.close_env()  # also on errors: a parallel runner's workers must not outlive the run


def train_sequential(args, logger, checkpoint, runner, buffer, learner):
    """Train until ``t_max`` env steps, from ``checkpoint``'s state when resuming."""
    log = logger.console_logger
    counters = LoopCounters.fresh(args)
    parts = run_parts(learner, runner, buffer, counters)
    if checkpoint is not None:
        restore_run_state(checkpoint, args, parts, log)
        log.info(f"Resumed {checkpoint.path}: t_env {runner.t_env}, episode {counters.episode}")
    start_time = time.time()
    log.info(f"Beginning training for {args.t_max} timesteps")
    progress = ProgressReporter(args.t_max, runner.t_env, log, terminal_stream(args.progress_bar))
    with StopSignals() as stop:
        train_loop(args, logger, runner, buffer, learner, counters, parts, progress, stop)
    if args.save_model and counters.last_save_t != runner.t_env:
        save(args, parts, runner.t_env, logger)  # the final state; the save schedule is left as it was
    if stop.requested is not None:
        raise TrainingInterrupted(stop.requested, interrupted_message(args, stop.requested, runner.t_env, log))
    log.info(f"Finished training: {runner.t_env} env steps in {time.time() - start_time:.1f} s")


def train_loop(args, logger, runner, buffer, learner, counters, parts, progress, stop):
    """Iterations until ``t_max`` env steps, or until a stop signal ends the current one."""
    try:
        while runner.t_env <= args.t_max and stop.requested is None:
            episode_batch = runner.run(test_mode=False)
            buffer.insert_episode_batch(episode_batch)
            counters.episode += args.batch_size_run

            if buffer.can_sample(args.batch_size):
                sample = buffer.sample(args.batch_size)  # cut at its longest episode
                if sample.device != args.device:
                    sample.to(args.device)
                learner.train(sample, runner.t_env, counters.episode)

            if (runner.t_env - counters.last_test_t) / args.test_interval >= 1.0:
                counters.last_test_t = runner.t_env
                for _ in range(n_test_runs(args, runner)):
                    runner.run(test_mode=True)

            if (runner.t_env - counters.last_log_t) >= args.log_interval:
                logger.log_stat("episode", counters.episode, runner.t_env)
                progress.log_line(runner.t_env, logger)
                logger.print_recent_stats()
                counters.last_log_t = runner.t_env

            # Last in the iteration, so that a checkpoint holds the state between two iterations.
            if args.save_model and (runner.t_env - counters.last_save_t >= args.save_model_interval):
                counters.last_save_t = runner.t_env
                save(args, parts, runner.t_env, logger)
            progress.update(runner.t_env, logger)
    finally:
        progress.close()


def interrupted_message(args, signum, t_env, log):
    """One line: where training stopped, the checkpoint, and the command that resumes it."""
    name = signal.Signals(signum).name
    if not args.save_model:
        message = f"Interrupted by {name} at t_env {t_env}; no checkpoint (save_model=False)"
    else:
        command = [token for token in sys.argv if not token.startswith(("checkpoint_path=", "load_step="))]
        if "with" not in command:
            command.append("with")
        resume = " ".join(["python", *command, f"checkpoint_path={models_dir(args)}"])
        message = f"Interrupted by {name} at t_env {t_env}: saved {os.path.join(models_dir(args), str(t_env))}; resume with: {resume}"
    log.warning(message)
    return message


def save(args, parts, t_env, logger):
    """Checkpoint the run at ``t_env``, with the TensorBoard events up to it flushed to disk.

    A checkpoint that cannot be written (a full disk) stops the run with one line: the earlier
    steps are whole, since a step is renamed into place only once complete."""
    logger.flush()
    try:
        directory = save_run_state(args, parts, t_env)
    except OSError as error:
        raise CheckpointError(f"could not write the checkpoint of t_env {t_env} under {models_dir(args)} "
                              f"({error.strerror or error}); the steps saved before it are intact") from None
    logger.console_logger.info(f"Saved checkpoint {directory}")
