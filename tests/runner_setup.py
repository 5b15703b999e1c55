"""Shared builder for the runner tests: one batch of episodes collected by a runner with a
uniformly random controller, from a config's namespace."""

import torch

from components.episode_batch import build_scheme
from runners import REGISTRY as RUNNER_REGISTRY
from utils.logging import Logger, get_console_logger


class UniformRandomController:
    """Picks uniformly among available actions (the runner's only need of a controller)."""

    def __init__(self):
        self.epsilon = 1.0

    def init_hidden(self, batch_size):
        pass

    def select_actions(self, batch, t, t_env, test_mode=False):
        avail = batch["avail_actions"][:, t].float()
        avail[avail.sum(-1) == 0] = 1.0
        return torch.multinomial(avail.view(-1, avail.shape[-1]), 1).view(avail.shape[:2])


def collect(args):
    """``(batch, t_env)``: one training batch of ``args.runner`` with random actions."""
    runner = RUNNER_REGISTRY[args.runner](args, Logger(get_console_logger()))
    try:
        scheme, groups, preprocess = build_scheme(runner.get_env_info())
        runner.setup(scheme, groups, preprocess, UniformRandomController())
        return runner.run(test_mode=False), runner.t_env
    finally:
        runner.close_env()
