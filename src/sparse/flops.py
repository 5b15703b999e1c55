"""Forward FLOPs of the agent and mixer, dense and sparse, and the ratios of MAST.md section 5.

Counted per forward of one sample (one agent at one step; one state for a mixer), layer
by layer from the modules themselves: a multiply-add is 2 FLOPs, so a weight matrix costs
``2 * nonzeros``; a bias costs one add per output; a GRU cell also costs its gate
arithmetic (``11 * hidden``: the two reset/update-gate sums and sigmoids, the reset
product, the candidate sum and tanh, and the four operations of ``(1 - z) * n + z * h``).
The ``rnn_ns`` agent's per-agent layers count one agent's share: a sample is one agent's
step, through its own weights, so a weight of ``[agents, out, in]`` costs ``2 * nonzeros /
agents`` (the agents' mean). Parameter-free operations between layers (ReLU, QMIX's
``abs`` and its mixing of the agents' Qs with the generated weights) are the same for
dense and sparse models and are left out: on SMAX 3m they are 0.35% of the FLOPs of a
QMIX transition (1.4% of the mixer's alone). A module with parameters of a kind not listed
here is an error rather than a silent undercount.

Ratios, with the RigL convention (f_D dense forward FLOPs, f_S sparse):
- inference: f_S / f_D of the agent network (the mixer is not used to act);
- training, per update: the trained networks cost 3 f_S (forward and two backward
  products), RigL ``(3 f_S dT + 2 f_S + f_D) / (dT + 1)`` for its dense gradient every dT
  updates; the forward-only passes of the update add g_S, their FLOPs with the masks. The
  dense model of the same algorithm costs 3 f_D + g_D. Which forward-only passes an update
  makes is the learner's to say (``forward_only_passes``): QMIX's target agent and target
  mixer once each; WQMIX's central target networks (the central target mixer twice for
  CW); RES's target agent, and its mixer over the candidate joint actions, online and
  target (the hypernetworks run once per state for all candidates).
"""

from dataclasses import dataclass

import torch.nn as nn

from modules.agents.rnn_ns_agent import StackedGRUCell, StackedLinear


@dataclass(frozen=True)
class ForwardFlops:
    """Forward FLOPs of one sample through a network: dense and with the masks applied."""

    dense: float
    sparse: float

    def __add__(self, other):
        return ForwardFlops(self.dense + other.dense, self.sparse + other.sparse)

    def __mul__(self, factor):
        return ForwardFlops(self.dense * factor, self.sparse * factor)


def _linear_flops(layer, weight_counts):
    dense, active = weight_counts(layer.weight)
    bias = layer.out_features if layer.bias is not None else 0
    return ForwardFlops(2 * dense + bias, 2 * active + bias)


def _gru_cell_flops(cell, weight_counts):
    hidden = cell.hidden_size
    fixed = 11 * hidden + (6 * hidden if cell.bias_ih is not None else 0)
    (ih_dense, ih_active), (hh_dense, hh_active) = weight_counts(cell.weight_ih), weight_counts(cell.weight_hh)
    return ForwardFlops(2 * (ih_dense + hh_dense) + fixed, 2 * (ih_active + hh_active) + fixed)


# The per-agent layers of ``rnn_ns`` cost what n_rnn's do, per agent (``weight_counts`` divides).
LAYER_FLOPS = {nn.Linear: _linear_flops, nn.GRUCell: _gru_cell_flops,
               StackedLinear: _linear_flops, StackedGRUCell: _gru_cell_flops}


def forward_flops(network, nonzeros_by_name, prefix):
    """:class:`ForwardFlops` of one sample through ``network``.

    ``nonzeros_by_name`` maps a masked weight's qualified name (``prefix + "." + parameter
    name``) to its count of active weights; weights not in it count as dense.
    """
    names = {id(parameter): f"{prefix}.{name}" for name, parameter in network.named_parameters()}

    def weight_counts(weight, copies):
        """``(dense, active)`` weights one sample uses: a per-agent layer's share is 1 / agents."""
        return weight.numel() / copies, nonzeros_by_name.get(names[id(weight)], weight.numel()) / copies

    total = ForwardFlops(0.0, 0.0)
    for module_name, module in network.named_modules():
        if not any(True for _ in module.parameters(recurse=False)):
            continue
        count = LAYER_FLOPS.get(type(module))
        if count is None:
            raise ValueError(
                f"the FLOPs counter does not know layer '{prefix}.{module_name}' of type "
                f"{type(module).__name__}; known: {', '.join(kind.__name__ for kind in LAYER_FLOPS)}"
            )
        copies = getattr(module, "n_agents", 1)  # rnn_ns's layers hold one copy per agent
        total = total + count(module, lambda weight: weight_counts(weight, copies))
    return total


def per_transition_flops(network_flops, roles, n_agents, passes=None):
    """Summed forward FLOPs of the networks for one transition of the batch: a network of
    role ``agent`` (``roles``: name -> role) runs once per agent, a ``mixer`` once; ``passes``
    (network name -> passes per transition) scales each, and leaves out those it omits."""
    total = ForwardFlops(0.0, 0.0)
    for name, flops in network_flops.items():
        count = 1 if passes is None else passes.get(name, 0)
        total = total + flops * (count * (n_agents if roles[name] == "agent" else 1))
    return total


def infer_flops_ratio(agent_flops):
    """Sparse over dense FLOPs of acting: one agent forward per agent per step."""
    return agent_flops.sparse / agent_flops.dense


def train_flops_ratio(trained_flops, forward_only_flops, dense_gradient_interval):
    """Sparse over dense training FLOPs per update.

    ``trained_flops``: per-transition forward FLOPs of the networks the optimizer trains;
    ``forward_only_flops``: those of the update's forward-only passes (target networks and
    any evaluation without gradients). ``dense_gradient_interval`` is RigL's dT (a dense
    gradient every dT updates), or None for methods that never need one (static, SET).
    """
    f_dense, f_sparse = trained_flops.dense, trained_flops.sparse
    if dense_gradient_interval is None:
        online = 3 * f_sparse
    else:
        interval = dense_gradient_interval
        online = (3 * f_sparse * interval + 2 * f_sparse + f_dense) / (interval + 1)
    return (online + forward_only_flops.sparse) / (3 * f_dense + forward_only_flops.dense)
