"""How an overall sparsity is shared out across layers.

Both distributions return an exact count of nonzero weights per layer. The counts add up
to ``round((1 - sparsity) * total weights)`` and each layer's count is within one weight
of its real-valued share (largest-remainder rounding).

- ``uniform``: every layer has density ``1 - sparsity``.
- ``erk`` (Erdos-Renyi-Kernel, as in RigL): the density of a layer is proportional to
  ``(fan_in + fan_out) / (fan_in * fan_out)``, so small layers keep more of their weights.
  A layer whose density would exceed 1 is made dense and the scale is solved again over
  the other layers, so the total is still exact.
"""

import math

DISTRIBUTIONS = ("uniform", "erk")


def uniform_densities(shapes, sparsity):
    """``{name: 1 - sparsity}`` for every layer."""
    return {name: 1.0 - sparsity for name in shapes}


def erk_densities(shapes, sparsity):
    """ERK densities ``{name: density}``, layers above density 1 made dense and the rest re-solved."""
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    raw = {name: sum(shape) / sizes[name] for name, shape in shapes.items()}
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


def nonzero_counts(shapes, sparsity, distribution):
    """Exact nonzero count per layer, ``{name: int}``, for ``shapes`` ``{name: tuple}``."""
    densities = {"uniform": uniform_densities, "erk": erk_densities}[distribution](shapes, sparsity)
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
