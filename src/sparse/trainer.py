"""The sparse trainer: the one object that owns a learner's masks and keeps its weights sparse.

Masked weights are held at exactly zero in the weight tensors themselves; the networks do
not know they are sparse and their forward pass costs nothing extra. The learner calls
:meth:`SparseTrainer.after_backward` between ``loss.backward()`` and gradient clipping,
and :meth:`SparseTrainer.after_step` after ``optimizer.step()``:

- after the backward pass the gradients of masked weights are zeroed (after keeping a
  copy of the dense gradient when RigL's topology update is due), so clipping sees only
  the sparse gradient and no optimizer ever builds state at a masked position;
- after the step the weights are multiplied by their masks again, and every
  ``update_interval`` updates the topology evolves (:mod:`sparse.topology`).

Target networks carry the masks of the networks they copy: they are masked when the
trainer starts, when masks are loaded and after each topology update; a hard copy of
masked weights copies their zeros, and a soft update's Polyak step between two zeros keeps
them.
"""

import torch

from sparse.distributions import network_counts
from sparse.flops import forward_flops, infer_flops_ratio, per_transition_flops, train_flops_ratio
from sparse.masks import WEIGHT_SCALES, initial_mask, maskable_weights
from sparse.topology import METHODS, TopologySchedule, evolve_layer, reset_optimizer_state
from utils.checkpoint import CheckpointError


class SparseTrainer:
    """Masks for the weight matrices of a learner's online networks (and their targets).

    ``pairs`` is the learner's ``{name: NetworkPair}`` (learners/networks.py: ``online``,
    ``target``, ``role``); ``optimizer`` the one that trains the online networks; ``args``
    the run config (its ``sparse`` block, ``t_max``, ``n_agents`` and ``seed``);
    ``forward_only_passes`` the learner's forward-only passes per transition of an update,
    by network name (a target copy counts under its pair's name), for the training FLOPs ratio.
    """

    def __init__(self, pairs, optimizer, args, forward_only_passes):
        config = args.sparse
        self.online = {name: pair.online for name, pair in pairs.items()}
        self.roles = {name: pair.role for name, pair in pairs.items()}
        self.forward_only_passes = forward_only_passes
        self.optimizer = optimizer
        self.n_agents = args.n_agents
        self.generator = torch.Generator().manual_seed(args.seed)
        self.weights = maskable_weights(self.online, config.dense_layers)
        self.target_weights = self._find_target_weights(pairs)
        counts = network_counts({name: tuple(w.shape) for name, w in self.weights.items()},
                                config.sparsity, config.distribution,
                                {network: value for network, value in vars(config.network_sparsity).items()
                                 if value is not None})
        self.masks = {
            name: initial_mask(weight, counts[name], config.init, self.generator)
            for name, weight in self.weights.items()
        }
        self.schedule = TopologySchedule(config.method, config.update_interval, config.drop_fraction,
                                         config.drop_schedule, config.stop_fraction, args.t_max)
        method = METHODS[config.method]
        self.grow_rule = method.grow
        self.dense_gradient_interval = config.update_interval if method.dense_gradient else None
        self.n_updates = 0
        self.topology_due = False
        self.dense_grads = {}
        self.apply_masks()
        self._scale_initial_weights(WEIGHT_SCALES[config.init_scale])

    @torch.no_grad()
    def _scale_initial_weights(self, scale):
        """The initial active weights rescaled by ``scale`` (``sparse.init_scale``,
        :data:`sparse.masks.WEIGHT_SCALES`), and the targets given the same weights."""
        for name, weight in self.weights.items():
            scale(weight, self.masks[name])
            self.target_weights[name].copy_(weight)

    def _find_target_weights(self, pairs):
        """``{qualified name: target parameter}``: each masked weight's copy in its pair's target."""
        targets = {}
        for name in self.weights:
            network_name, parameter_name = name.split(".", 1)
            targets[name] = dict(pairs[network_name].target.named_parameters())[parameter_name]
        return targets

    # --- the two calls from the learner ------------------------------------------------
    def after_backward(self, t_env):
        """Zero the gradients of masked weights, keeping the dense gradient when RigL needs it."""
        self.topology_due = self.schedule.is_due(self.n_updates + 1, t_env)
        keep_dense = self.topology_due and self.dense_gradient_interval is not None
        for name, weight in self.weights.items():
            if keep_dense:
                self.dense_grads[name] = torch.zeros_like(weight) if weight.grad is None else weight.grad.clone()
            if weight.grad is not None:
                weight.grad.mul_(self.masks[name])

    @torch.no_grad()
    def after_step(self, t_env):
        """Re-apply the masks after the optimizer step; evolve the topology when due."""
        self.n_updates += 1
        if self.topology_due:
            self.evolve_topology(t_env)
        for name, weight in self.weights.items():
            weight.mul_(self.masks[name])

    # --- masks --------------------------------------------------------------------------
    @torch.no_grad()
    def evolve_topology(self, t_env):
        """Drop and grow in every masked layer (:func:`sparse.topology.evolve_layer`)."""
        drop_fraction = self.schedule.drop_fraction(t_env)
        for name, weight in self.weights.items():
            new_mask, kept = evolve_layer(weight, self.masks[name], drop_fraction, self.grow_rule,
                                          self.dense_grads.get(name), self.generator)
            weight.mul_(kept)
            reset_optimizer_state(self.optimizer, weight, kept)
            self.masks[name] = new_mask
            self.target_weights[name].mul_(new_mask)
        self.dense_grads = {}
        self.topology_due = False

    @torch.no_grad()
    def apply_masks(self):
        """Zero every masked weight of the online and target networks."""
        for name, weight in self.weights.items():
            weight.mul_(self.masks[name])
            self.target_weights[name].mul_(self.masks[name])

    def to(self, device):
        self.masks = {name: mask.to(device) for name, mask in self.masks.items()}
        return self

    # --- measurements -------------------------------------------------------------------
    def layer_sparsity(self):
        """``{weight name: fraction of zeros}``, measured from the online weights."""
        return {name: 1.0 - float(torch.count_nonzero(w)) / w.numel() for name, w in self.weights.items()}

    def sparsity(self):
        """Fraction of zeros over all masked weight matrices, measured from the weights."""
        zeros = sum(w.numel() - int(torch.count_nonzero(w)) for w in self.weights.values())
        return zeros / sum(w.numel() for w in self.weights.values())

    def network_flops(self):
        """``{network name: ForwardFlops}`` of one sample, from the layers and current masks."""
        nonzeros = {name: int(mask.count_nonzero()) for name, mask in self.masks.items()}
        return {name: forward_flops(net, nonzeros, name) for name, net in self.online.items()}

    def flops_ratios(self):
        """``(train_flops_ratio, infer_flops_ratio)`` of the current masks (MAST.md section 5)."""
        flops = self.network_flops()
        trained = per_transition_flops(flops, self.roles, self.n_agents)
        forward_only = per_transition_flops(flops, self.roles, self.n_agents, self.forward_only_passes)
        train = train_flops_ratio(trained, forward_only, self.dense_gradient_interval)
        return train, infer_flops_ratio(flops["agent"])

    def log_stats(self, logger, t_env):
        """Log ``sparsity`` and the FLOPs ratios; store the per-layer sparsity in the run's info."""
        train_ratio, infer_ratio = self.flops_ratios()
        logger.log_stat("sparsity", self.sparsity(), t_env)
        logger.log_stat("train_flops_ratio", train_ratio, t_env)
        logger.log_stat("infer_flops_ratio", infer_ratio, t_env)
        logger.set_info("layer_sparsity", self.layer_sparsity())

    # --- checkpoints --------------------------------------------------------------------
    def state_dict(self):
        """Masks (boolean, on the CPU), the update counter and the random generator's state."""
        return {
            "masks": {name: mask.bool().cpu() for name, mask in self.masks.items()},
            "n_updates": self.n_updates,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state):
        """Restore saved masks and zero the weights they mask; a mask that does not fit this
        run's model is a CheckpointError naming it."""
        masks = state["masks"]
        if set(masks) != set(self.weights):
            raise CheckpointError(
                f"sparse masks saved for {sorted(masks)} do not fit this run's masked weights {sorted(self.weights)}"
            )
        for name, weight in self.weights.items():
            if tuple(masks[name].shape) != tuple(weight.shape):
                raise CheckpointError(
                    f"sparse mask '{name}' has shape {tuple(masks[name].shape)}, "
                    f"the weight has shape {tuple(weight.shape)}"
                )
        self.masks = {name: masks[name].to(weight.device, weight.dtype) for name, weight in self.weights.items()}
        self.n_updates = state["n_updates"]
        self.generator.set_state(state["generator"])
        self.apply_masks()
