"""How an overall sparsity is shared out across layers.

Both distributions return an exact count of nonzero weights per layer. The counts add up
to ``round((1 - sparsity) * total weights)`` and each layer's count is within one weight
of its real-valued share (largest-remainder rounding).

- ``uniform``: every layer has density ``1 - sparsity``.
- ``erk`` (Erdos-Renyi-Kernel, as in RigL): the density of a layer is proportional to
  ``(fan_in + fan_out) / (fan_in * fan_out)``, so small layers keep more of their weights
  (a per-agent weight ``[agents, out, in]`` by its last two dimensions: one agent's layer).
  A layer whose density would exceed 1 is made dense and the scale is solved again over
  the other layers, so the total is still exact.
"""

import math

from utils.config import ConfigError



def uniform_densities(shapes, sparsity):
    """``{name: 1 - sparsity}`` for every layer."""
    return {name: 1.0 - sparsity for name in shapes}


def erk_densities(shapes, sparsity):
    """ERK densities ``{name: density}``, layers above density 1 made dense and the rest re-solved."""
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    raw = {name: (shape[-1] + shape[-2]) / (shape[-1] * shape[-2]) for name, shape in shapes.items()}
    target_nonzeros = (1.0 - sparsity) * sum(sizes.values())
    dense = set()
    while True:
        budget = target_nonzeros - sum(sizes[name] for name in dense)
        free = [name for name in shapes if name not in dense]
        if not free:
            break
        scale = budget / sum(raw[name] * sizes[name] for name in free)
        too_dense = {name for name in free if scale * raw[name] > 1.0}
        if not too_dense:
            break
        dense |= too_dense
    return {name: 1.0 if name in dense else scale * raw[name] for name in shapes}


# sparse.distribution: (shapes, sparsity) -> {name: density}.
DISTRIBUTIONS = {"uniform": uniform_densities, "erk": erk_densities}


def nonzero_counts(shapes, sparsity, distribution):
    """Exact nonzero count per layer, ``{name: int}``, for ``shapes`` ``{name: tuple}``."""
    densities = DISTRIBUTIONS[distribution](shapes, sparsity)
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    ideal = {name: min(densities[name], 1.0) * sizes[name] for name in shapes}
    counts = {name: math.floor(value) for name, value in ideal.items()}
    missing = round((1.0 - sparsity) * sum(sizes.values())) - sum(counts.values())
    by_remainder = sorted(shapes, key=lambda name: ideal[name] - counts[name], reverse=True)
    for name in by_remainder:
        if missing <= 0:
            break
        if counts[name] < sizes[name]:
            counts[name] += 1
            missing -= 1
    return counts


def network_counts(shapes, sparsity, distribution, network_sparsity):
    """Exact nonzero count per layer when ``network_sparsity`` ``{network: sparsity}`` fixes
    some networks' sparsity and the rest share the remainder of the overall budget.

    Layers are named ``<network>.<parameter>``. Each named network's layers, and the rest
    together, are shared out by ``distribution``. Raises a ConfigError naming the problem when
    a name is no network's, no network is left to take the remainder, or the remainder
    is not a sparsity in [0, 1).
    """
    if not network_sparsity:
        return nonzero_counts(shapes, sparsity, distribution)
    network_of = {name: name.split(".", 1)[0] for name in shapes}
    networks = sorted(set(network_of.values()))
    unknown = sorted(set(network_sparsity) - set(networks))
    if unknown:
        raise ConfigError(f"sparse.network_sparsity names {', '.join(unknown)}, not a masked network "
                         f"(the masked networks are: {', '.join(networks)})")
    rest = {name: shape for name, shape in shapes.items() if network_of[name] not in network_sparsity}
    if not rest:
        raise ConfigError("sparse.network_sparsity names every masked network: leave at least one out "
                         "to take the rest of sparse.sparsity's budget")
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    counts = {}
    for network, network_value in network_sparsity.items():
        layers = {name: shape for name, shape in shapes.items() if network_of[name] == network}
        counts.update(nonzero_counts(layers, network_value, distribution))
    rest_nonzeros = round((1.0 - sparsity) * sum(sizes.values())) - sum(counts.values())
    rest_size = sum(sizes[name] for name in rest)
    rest_sparsity = 1.0 - rest_nonzeros / rest_size
    if not 0.0 <= rest_sparsity < 1.0:
        raise ConfigError(f"sparse.network_sparsity {dict(network_sparsity)} leaves the other networks "
                         f"({', '.join(sorted({network_of[name] for name in rest}))}) a sparsity of "
                         f"{rest_sparsity:.3f} to meet sparse.sparsity {sparsity}; it must lie in [0, 1)")
    counts.update(nonzero_counts(rest, rest_sparsity, distribution))
    return counts
