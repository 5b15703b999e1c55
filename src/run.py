"""The training loop: build everything from the config, then collect, store, learn, test,
log and save until ``t_max`` environment steps."""

import datetime
import os
import random
import time

import numpy as np
import torch

from components import BUFFER_REGISTRY
from components.transforms import OneHot
from controllers import REGISTRY as MAC_REGISTRY
from learners import REGISTRY as LEARNER_REGISTRY
from runners import REGISTRY as RUNNER_REGISTRY
from utils.checkpoint import (
    CheckpointError,
    atomic_torch_save,
    load_module_state,
    load_torch_file,
    resolve_checkpoint,
)
from utils.config import to_namespace
from utils.logging import Logger


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

    map_name = getattr(args.env_args, "map_name", args.env)
    args.unique_token = f"{args.name}_seed{args.seed}_{map_name}_{datetime.datetime.now():%Y-%m-%d_%H-%M-%S}"
    logger = Logger(console_logger)
    logger.setup_sacred(sacred_run)
    if args.use_tensorboard:
        logger.setup_tensorboard(os.path.join(args.local_results_path, "tb_logs", args.unique_token))
    try:
        run_sequential(args, logger)
    finally:
        logger.close()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_scheme(env_info):
    scheme = {
        "state": {"vshape": env_info["state_shape"]},
        "obs": {"vshape": env_info["obs_shape"], "group": "agents"},
        "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
        "avail_actions": {"vshape": (env_info["n_actions"],), "group": "agents", "dtype": torch.int},
        "reward": {"vshape": (1,)},
        "terminated": {"vshape": (1,), "dtype": torch.uint8},
    }
    groups = {"agents": env_info["n_agents"]}
    preprocess = {"actions": ("actions_onehot", [OneHot(out_dim=env_info["n_actions"])])}
    return scheme, groups, preprocess


def build_components(args, logger):
    """Runner, buffer, controller and learner, wired together."""
    runner = RUNNER_REGISTRY[args.runner](args, logger)
    env_info = runner.get_env_info()
    args.n_agents = env_info["n_agents"]
    args.n_actions = env_info["n_actions"]
    args.state_shape = env_info["state_shape"]
    args.obs_shape = env_info["obs_shape"]
    args.episode_limit = env_info["episode_limit"]

    scheme, groups, preprocess = build_scheme(env_info)
    buffer_device = "cpu" if args.buffer_cpu_only else args.device
    buffer = BUFFER_REGISTRY[args.buffer](
        args, scheme, groups, args.episode_limit + 1, preprocess, buffer_device, np.random.default_rng(args.seed)
    )
    mac = MAC_REGISTRY[args.mac](buffer.scheme, groups, args)
    runner.setup(scheme, groups, preprocess, mac)
    learner = LEARNER_REGISTRY[args.learner](mac, buffer.scheme, logger, args)
    learner.to(args.device)
    return runner, buffer, learner


def save_checkpoint(learner, args, t_env, episode):
    path = os.path.join(args.local_results_path, "models", args.unique_token, str(t_env))
    state = {
        "networks": {name: module.state_dict() for name, module in learner.networks().items()},
        "optimiser": learner.optimiser.state_dict(),
        "t_env": t_env,
        "episode": episode,
    }
    atomic_torch_save(state, os.path.join(path, "learner.pt"))
    return path


def load_checkpoint(learner, args, logger):
    """Load the networks and optimizer of ``args.checkpoint_path``; returns the step loaded."""
    path, step = resolve_checkpoint(args.checkpoint_path, args.load_step)
    file = os.path.join(path, "learner.pt")
    state = load_torch_file(file)
    for name, module in learner.networks().items():
        if name not in state.get("networks", {}):
            raise CheckpointError(f"checkpoint {file} has no '{name}' network")
        load_module_state(module, state["networks"][name], name, file)
    learner.optimiser.load_state_dict(state["optimiser"])
    logger.console_logger.info(f"Loaded checkpoint {path} (t_env {step})")
    return step


def evaluate_sequential(args, runner, logger):
    for _ in range(max(1, args.test_nepisode // runner.batch_size)):
        runner.run(test_mode=True)
    logger.print_recent_stats()


def run_sequential(args, logger):
    runner, buffer, learner = build_components(args, logger)
    log = logger.console_logger

    if args.checkpoint_path:
        runner.t_env = load_checkpoint(learner, args, logger)
    if args.evaluate:
        evaluate_sequential(args, runner, logger)
        runner.close_env()
        return

    episode = 0
    last_test_t = -args.test_interval - 1
    last_log_t = -args.log_interval - 1
    last_save_t = runner.t_env
    n_test_runs = max(1, args.test_nepisode // runner.batch_size)
    start_time = last_time = time.time()
    log.info(f"Beginning training for {args.t_max} timesteps")

    while runner.t_env <= args.t_max:
        episode_batch = runner.run(test_mode=False)
        buffer.insert_episode_batch(episode_batch)
        episode += args.batch_size_run

        if buffer.can_sample(args.batch_size):
            sample = buffer.sample(args.batch_size)
            sample = sample[:, : sample.max_t_filled()]
            if sample.device != args.device:
                sample.to(args.device)
            learner.train(sample, runner.t_env, episode)

        if (runner.t_env - last_test_t) / args.test_interval >= 1.0:
            elapsed = time.time() - last_time
            log.info(f"t_env: {runner.t_env} / {args.t_max} | {elapsed:.1f} s since last test | "
                     f"{runner.t_env / max(time.time() - start_time, 1e-9):.0f} env steps/s overall")
            last_time = time.time()
            last_test_t = runner.t_env
            for _ in range(n_test_runs):
                runner.run(test_mode=True)

        if args.save_model and (runner.t_env - last_save_t >= args.save_model_interval):
            last_save_t = runner.t_env
            log.info(f"Saving checkpoint to {save_checkpoint(learner, args, runner.t_env, episode)}")

        if (runner.t_env - last_log_t) >= args.log_interval:
            logger.log_stat("episode", episode, runner.t_env)
            logger.print_recent_stats()
            last_log_t = runner.t_env

    runner.close_env()
    log.info(f"Finished training: {runner.t_env} env steps in {time.time() - start_time:.1f} s")
