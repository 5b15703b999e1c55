"""Weighted QMIX (``wqmix_learner``): OW-QMIX and CW-QMIX (Rashid et al. 2020).

Next to the QMIX agents and mixer, an unrestricted central joint-action value Q* has its own
agent network (same architecture as ``agent``) and a ``central_mixer`` with no monotonicity
constraint. As in the authors' code, both learn from the same targets: Q* of the target
central networks at the QMIX agents' greedy next joint action (chosen by the online QMIX
agents with ``double_q``, by their target copies without), turned into TD(lambda) returns by
:class:`TargetBuilder` (so the lambda schedule and the Soft Mellowmax switch apply here too).
Soft Mellowmax then runs per agent over Q*'s agent utilities, which are inputs of a
non-monotonic mixer rather than values of actions; on SMAX 3m that target collapsed
training, so the MAST WQMIX configs keep ``target_operator: max`` (docs/results.md).

Loss = weighted QMIX loss + central loss, both masked means of squared TD errors; the
central loss is unweighted. QMIX's weight per step (``wqmix_weighting``):

- ``ow`` (optimistic): 1 where Q_tot(s, u) < y, else ``wqmix_alpha``;
- ``cw`` (central): 1 where u is the QMIX greedy joint action or y > Q*(s, greedy joint
  action), else ``wqmix_alpha``; Q* here is the target central network, as in the authors' code.

Acting stays with the QMIX agents; Q* is used in training only.
"""

import copy

import torch

from controllers import REGISTRY as MAC_REGISTRY
from learners.nq_learner import NQLearner, at_steps, mix_at, td_stats
from modules.mixers import REGISTRY as MIXER_REGISTRY
from utils.rl_utils import greedy_actions


def optimistic_weights(q_tot, targets, alpha):
    """OW-QMIX: 1 where the joint action is underestimated (``q_tot < targets``), ``alpha`` elsewhere."""
    return torch.where(q_tot < targets, 1.0, alpha)


def central_weights(is_greedy, targets, greedy_central_values, alpha):
    """CW-QMIX: 1 where the joint action is the greedy one or its target beats Q* of the greedy
    joint action (``targets > greedy_central_values``), ``alpha`` elsewhere."""
    return torch.where(is_greedy | (targets > greedy_central_values), 1.0, alpha)


class WQMIXLearner(NQLearner):
    def __init__(self, mac, scheme, logger, args):
        # Built before the base class, which collects the trained parameters from networks().
        self.central_mac = MAC_REGISTRY[args.mac](scheme, {"agents": args.n_agents}, args)
        self.central_mixer = MIXER_REGISTRY[args.central_mixer](args)
        self.target_central_mac = copy.deepcopy(self.central_mac)
        self.target_central_mixer = copy.deepcopy(self.central_mixer)
        super().__init__(mac, scheme, logger, args)

    def compute_loss(self, batch, t_env):
        rewards, actions, terminated, mask, avail_actions = self.unpack(batch)
        states = batch["state"]
        transitions, filled = self.step_masks(batch, mask)
        inputs = self.mac.sequence_inputs(batch)  # the central agent reads the same inputs
        agent_qs = self.mac.unroll(batch, inputs)
        q_tot = mix_at(transitions, self.mixer, torch.gather(agent_qs[:, :-1], 3, actions).squeeze(3), states[:, :-1])
        central_qs = self.central_mac.unroll(batch, inputs)
        central_q = mix_at(transitions, self.central_mixer, torch.gather(central_qs[:, :-1], 3, actions).squeeze(3),
                           states[:, :-1])

        with torch.no_grad():
            online_qs = agent_qs.detach()
            target_central_qs = self.target_central_mac.unroll(batch, inputs)
            target_selection_qs = None if self.args.double_q else self.target_mac.unroll(batch, inputs)
            next_values = self.targets.agent_next_values(
                target_central_qs[filled], online_qs[filled], avail_actions[filled],
                None if target_selection_qs is None else target_selection_qs[filled])
            target_values = at_steps(filled, self.target_central_mixer(next_values, states[filled]))
            targets = self.targets.returns(rewards, terminated, mask, target_values, t_env)
            weights = self._weights(q_tot.detach(), targets, online_qs, target_central_qs, actions,
                                    avail_actions, states, transitions)

        n_real = mask.sum()
        td_error = (q_tot - targets) * mask
        qmix_loss = (weights * td_error.pow(2)).sum() / n_real
        central_error = (central_q - targets) * mask
        central_loss = central_error.pow(2).sum() / n_real
        stats = {
            "loss_td": qmix_loss.detach(),
            "loss_central": central_loss.detach(),
            "wqmix_weight_mean": (weights * mask).sum() / n_real,
            **td_stats(q_tot, targets, td_error, mask, self.args.n_agents),
            "central_q_taken_mean": (central_q * mask).sum().detach() / (n_real * self.args.n_agents),
        }
        return qmix_loss + central_loss, stats

    def _weights(self, q_tot, targets, online_qs, target_central_qs, actions, avail_actions, states, transitions):
        """The per-step weights ``[B, T, 1]`` of the QMIX loss."""
        alpha = self.args.wqmix_alpha
        if self.args.wqmix_weighting == "ow":
            return optimistic_weights(q_tot, targets, alpha)
        greedy = greedy_actions(online_qs[:, :-1], avail_actions[:, :-1])
        is_greedy = (actions.squeeze(3) == greedy).all(dim=2, keepdim=True)
        greedy_central_utilities = torch.gather(target_central_qs[:, :-1], 3, greedy.unsqueeze(3)).squeeze(3)
        greedy_central_values = mix_at(transitions, self.target_central_mixer, greedy_central_utilities, states[:, :-1])
        return central_weights(is_greedy, targets, greedy_central_values, alpha)

    def update_targets(self):
        super().update_targets()
        self.target_central_mac.load_state(self.central_mac)
        self.target_central_mixer.load_state_dict(self.central_mixer.state_dict())

    def networks(self):
        return {
            **super().networks(),
            "central_agent": self.central_mac.agent,
            "central_mixer": self.central_mixer,
            "target_central_agent": self.target_central_mac.agent,
            "target_central_mixer": self.target_central_mixer,
        }

    def forward_only_passes(self):
        """The target central agent and mixer (the mixer again for CW's weights); the QMIX
        target agent only without ``double_q``; the QMIX target mixer is not used."""
        return {
            "agent": 0 if self.args.double_q else 1,
            "central_agent": 1,
            "central_mixer": 2 if self.args.wqmix_weighting == "cw" else 1,
        }

    def to(self, device):
        for network in (self.central_mac, self.target_central_mac, self.central_mixer, self.target_central_mixer):
            network.to(device)
        return super().to(device)
