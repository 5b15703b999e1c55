"""Which weights are sparse, and their initial masks.

A network's masked weights are all its parameters of two or more dimensions that are not
biases: the weight matrices of every ``Linear`` layer (the agent's input and output layers,
every QMIX hypernetwork layer), a GRU's ``weight_ih`` and ``weight_hh``, which are found by
their shape, not by the name ``weight``, and the per-agent weights ``[agents, out, in]`` of
the ``rnn_ns`` agent, each masked as one layer. Biases (parameters named ``bias*``, the
per-agent ``[agents, out]`` ones included) stay dense. Weights are named
``<network>.<parameter name>`` (``agent.rnn.weight_hh``, ``mixer.hyper_w_1.0.weight``).
"""

import torch

from utils.config import ConfigError


def _matches(layer_name, weight_name):
    """A ``dense_layers`` entry names a weight itself or any module that holds it."""
    return weight_name == layer_name or weight_name.startswith(layer_name + ".")


def maskable_weights(networks, dense_layers):
    """``{qualified name: parameter}`` of the weights to mask, in a fixed order.

    ``networks`` is ``{network name: module}``. Weights matched by an entry of
    ``dense_layers`` stay dense; an entry that matches no weight matrix is a ConfigError
    listing the names that exist.
    """
    matrices = {
        f"{network_name}.{name}": parameter
        for network_name, network in networks.items()
        for name, parameter in network.named_parameters()
        if parameter.dim() >= 2 and not name.rsplit(".", 1)[-1].startswith("bias")
    }
    for layer_name in dense_layers:
        if not any(_matches(layer_name, name) for name in matrices):
            raise ConfigError(
                f"sparse.dense_layers entry '{layer_name}' matches no weight matrix; "
                f"the weight matrices are: {', '.join(matrices)}"
            )
    masked = {
        name: parameter
        for name, parameter in matrices.items()
        if not any(_matches(layer_name, name) for layer_name in dense_layers)
    }
    if not masked:
        raise ConfigError("sparse.enabled is True but sparse.dense_layers keeps every weight matrix dense")
    return masked


def random_mask(weight, n_active, generator):
    """A mask of ``weight``'s shape with ``n_active`` ones at positions drawn uniformly."""
    mask = torch.zeros(weight.numel(), dtype=weight.dtype)
    mask[torch.randperm(weight.numel(), generator=generator)[:n_active]] = 1.0
    return mask.view_as(weight).to(weight.device)


def magnitude_mask(weight, n_active):
    """A mask keeping the ``n_active`` weights of largest magnitude."""
    mask = torch.zeros(weight.numel(), dtype=weight.dtype, device=weight.device)
    mask[torch.topk(weight.detach().abs().flatten(), n_active).indices] = 1.0
    return mask.view_as(weight)


# sparse.init: the first mask of a weight with n_active ones, (weight, n_active, generator) -> mask.
MASK_INITS = {
    "random": random_mask,
    "magnitude": lambda weight, n_active, generator: magnitude_mask(weight, n_active),
}


def initial_mask(weight, n_active, init, generator):
    """The first mask of ``weight``: ``random`` or ``magnitude`` (of the initial dense weights)."""
    return MASK_INITS[init](weight, n_active, generator)


def scale_to_active_fan_in(weight, mask):
    """Multiply each output unit's active weights by ``sqrt(fan_in / active fan_in)``.

    A layer initialised for its dense fan-in and then masked to density d passes on only
    about d of its input variance; scaling each row (an output unit: a row of a ``Linear``
    weight, a gate row of a GRU matrix, one agent's row of a per-agent weight; the inputs
    are the last dimension) by the square root of its dense over its active fan-in restores
    the dense initialisation's variance per unit (Evci et al. 2022, "Gradient flow in sparse
    neural networks"). Rows with no active input stay zero.
    """
    active_fan_in = mask.sum(-1, keepdim=True)
    scale = torch.where(active_fan_in > 0, weight.shape[-1] / active_fan_in.clamp(min=1.0), 1.0).sqrt()
    weight.mul_(scale)


def keep_initial_scale(weight, mask):
    """The initial active weights as the dense layer's initialisation drew them."""


# sparse.init_scale: how the initial active weights are scaled, (weight, mask) -> None, in place.
WEIGHT_SCALES = {"dense": keep_initial_scale, "fan_in": scale_to_active_fan_in}
