"""How a learner declares its networks: once, as online/target pairs with a role.

Everything that handles a learner's networks reads this declaration: the optimizer (the
online networks, in declaration order), target updates (each target a copy of its online
network, or a Polyak average of it), the sparse trainer (masks on the online networks,
carried by their targets), the FLOPs count (an ``agent`` network runs once per agent and
step, a ``mixer`` once per state) and checkpoints (:func:`checkpoint_names`).
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

ROLES = ("agent", "mixer")


@dataclass(frozen=True)
class NetworkPair:
    """An online network the optimizer trains, its target copy, and its role (one of :data:`ROLES`)."""

    online: nn.Module
    target: nn.Module
    role: str

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"network role '{self.role}' is not one of: {', '.join(ROLES)}")

    @torch.no_grad()
    def update_target(self, tau=1.0):
        """The target moves ``tau`` of the way to the online network: with 1 a hard copy of its
        weights, below 1 a Polyak step of each parameter. A weight the online network holds at
        zero under a mask, and its target too (the sparse trainer masks both), stays zero."""
        if tau == 1.0:
            self.target.load_state_dict(self.online.state_dict())
            return
        for target, online in zip(self.target.parameters(), self.online.parameters()):
            target.lerp_(online, tau)


def checkpoint_names(pairs):
    """``{name: online, "target_" + name: target}``: the networks as a checkpoint names them."""
    named = {name: pair.online for name, pair in pairs.items()}
    named.update({f"target_{name}": pair.target for name, pair in pairs.items()})
    return named
