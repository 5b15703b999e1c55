"""Topology evolution: when the masks change (:class:`TopologySchedule`) and how
(:func:`evolve_layer`).

Every ``update_interval`` learner updates, until ``stop_fraction`` of ``t_max`` env steps,
each masked layer drops the ``f(t) * n_active`` active weights of smallest magnitude and
grows as many connections among the inactive ones (the just-dropped included, as in
RigL's reference code). The methods differ only in the grow rule: ``rigl`` grows where the
dense gradient is largest, ``set`` grows at random, ``static`` never changes the masks.
Grown weights start at zero and their optimizer state is reset; a layer's count of
nonzeros never changes.
"""

import math
from dataclasses import dataclass
from typing import Callable

import torch

# drop_schedule: the fraction of active weights moved, from f0 and the progress t / t_end in [0, 1].
DROP_SCHEDULES = {
    "cosine": lambda f0, progress: f0 / 2.0 * (1.0 + math.cos(math.pi * progress)),
    "constant": lambda f0, progress: f0,
}


class TopologySchedule:
    """When to update the topology and which fraction of each layer's active weights to move.

    ``f(t) = f0 / 2 * (1 + cos(pi * t / t_end))`` (cosine) or ``f0`` (constant), with
    ``t`` the env step and ``t_end = stop_fraction * t_max`` the last step with updates.
    """

    def __init__(self, method, update_interval, drop_fraction, drop_schedule, stop_fraction, t_max):
        self.evolves = METHODS[method].evolves
        self.update_interval = update_interval
        self.initial_drop_fraction = drop_fraction
        self.drop_schedule = DROP_SCHEDULES[drop_schedule]
        self.stop_t_env = stop_fraction * t_max

    def is_due(self, update_index, t_env):
        """Whether learner update number ``update_index`` (counted from 1) changes the topology."""
        return self.evolves and update_index % self.update_interval == 0 and t_env < self.stop_t_env

    def drop_fraction(self, t_env):
        """The fraction of active weights each layer drops and regrows at env step ``t_env``."""
        return self.drop_schedule(self.initial_drop_fraction, min(t_env / self.stop_t_env, 1.0))


def grow_by_gradient(candidates, n_grow, dense_grad, generator):
    """RigL: the ``n_grow`` candidate positions (flat) with the largest dense-gradient magnitude."""
    scores = dense_grad.abs().flatten().masked_fill(~candidates, -1.0)
    return torch.topk(scores, n_grow).indices


def grow_at_random(candidates, n_grow, dense_grad, generator):
    """SET: ``n_grow`` candidate positions (flat) drawn uniformly."""
    positions = candidates.nonzero().squeeze(1)
    order = torch.randperm(positions.numel(), generator=generator).to(positions.device)
    return positions[order[:n_grow]]


@dataclass(frozen=True)
class SparseMethod:
    """One ``sparse.method``: its grow rule (None: the masks never change) and whether its
    topology updates need the dense gradient."""

    grow: Callable | None
    dense_gradient: bool

    @property
    def evolves(self):
        """Whether the masks ever change."""
        return self.grow is not None


METHODS = {
    "static": SparseMethod(grow=None, dense_gradient=False),
    "set": SparseMethod(grow=grow_at_random, dense_gradient=False),
    "rigl": SparseMethod(grow=grow_by_gradient, dense_gradient=True),
}


def evolve_layer(weight, mask, drop_fraction, grow_rule, dense_grad, generator):
    """One drop-and-grow step of one layer; returns ``(new_mask, kept)``.

    ``kept`` marks the weights that stay active through the update (active and not
    dropped): the caller multiplies the weight and its optimizer state by it, so dropped
    weights become zero and grown ones start at zero with a fresh optimizer state. A layer
    with no inactive position (dense) is returned unchanged.
    """
    active = mask.flatten() > 0
    n_active = int(active.sum())
    n_change = int(drop_fraction * n_active)
    if n_change == 0 or n_active == active.numel():
        return mask, mask
    magnitudes = weight.detach().abs().flatten().masked_fill(~active, float("inf"))
    dropped = torch.topk(magnitudes, n_change, largest=False).indices
    kept = active.clone()
    kept[dropped] = False
    grown = grow_rule(~kept, n_change, dense_grad, generator)
    new_mask = kept.clone()
    new_mask[grown] = True
    return new_mask.view_as(mask).to(mask.dtype), kept.view_as(mask).to(mask.dtype)


def reset_optimizer_state(optimizer, parameter, kept):
    """Multiply every per-weight optimizer state of ``parameter`` (Adam moments, RMSprop
    square average, momentum) by ``kept``, so grown and dropped positions restart at zero."""
    for value in optimizer.state.get(parameter, {}).values():
        if torch.is_tensor(value) and value.shape == parameter.shape:
            value.mul_(kept)
