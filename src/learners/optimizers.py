"""The optimizers a learner can use (``optimizer``): one entry each, read by validation and
by the learner alike."""

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class OptimizerKind:
    """How to build one kind of optimizer from the config, and a setting of its parameter
    groups that only this kind has (which recognises a saved state of this kind)."""

    build: Callable[[list, object], torch.optim.Optimizer]
    mark: str


OPTIMIZERS = {
    "adam": OptimizerKind(
        build=lambda params, args: torch.optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay),
        mark="betas",
    ),
    "rmsprop": OptimizerKind(
        build=lambda params, args: torch.optim.RMSprop(params, lr=args.lr, alpha=args.optim_alpha, eps=args.optim_eps,
                                                       weight_decay=args.weight_decay),
        mark="alpha",
    ),
}


def build_optimizer(params, args):
    """The ``args.optimizer`` optimizer over ``params``."""
    return OPTIMIZERS[args.optimizer].build(params, args)
