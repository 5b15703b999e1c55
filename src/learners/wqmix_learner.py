"""Weighted QMIX (``wqmix_learner``): OW-QMIX and CW-QMIX (Rashid et al. 2020).

Next to the QMIX agents and mixer, an unrestricted central joint-action value Q* has its own
agent network (same architecture as ``agent``) and a ``central_mixer`` with no monotonicity
constraint. As in the authors' code, both learn from the same targets, turned into TD(lambda)
returns by :class:`TargetBuilder` (so the lambda schedule applies here too). The next
state's value (``target_operator``):

- ``max``: WQMIX's own, Q* of the target central networks at QMIX's greedy next joint action
  (chosen by the online QMIX agents with ``double_q``, by their target copies without);
- ``soft_mellowmax``: MAST's operator over joint actions, where Q*'s values have the reward's
  scale: Soft Mellowmax over RES's candidate set around that greedy joint action (it and every
  one-agent deviation from it, :func:`joint_action_candidates`), values Q* of the target
  central networks, softmax weights QMIX's Q_tot of the same candidates from the selecting
  networks. As ``sm_alpha`` grows the weights become one-hot on the greedy joint action, which
  maximises QMIX's monotonic Q_tot, and the value becomes WQMIX's own target. The central
  mixer values all candidates of a state in one batched pass. (Soft Mellowmax per agent over
  Q*'s utilities, the first composition tried, collapsed MAST-OW-QMIX on SMAX 3m: those
  utilities feed a non-monotonic mixer and are not values of actions; docs/results.md.)

Loss = weighted QMIX loss + central loss, both masked means of squared TD errors; the
central loss is unweighted. QMIX's weight per step (``wqmix_weighting``):

- ``ow`` (optimistic): 1 where Q_tot(s, u) < y, else ``wqmix_alpha``;
- ``cw`` (central): 1 where u is the QMIX greedy joint action or y > Q*(s, greedy joint
  action), else ``wqmix_alpha``; Q* here is the target central network, as in the authors' code.

Acting stays with the QMIX agents; Q* is used in training only.
"""

import copy
from dataclasses import dataclass
from typing import Callable

import torch

from controllers import REGISTRY as MAC_REGISTRY
from learners.networks import NetworkPair
from learners.nq_learner import NQLearner, at_steps, mix_at, td_stats
from learners.res_learner import candidate_agent_qs, joint_action_candidates
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
    PYMARL_NMIX_NAMES = False  # PyMARL2's max_q_learner trains the original QMixer: mixer.th in its names, ours

    def build_networks(self, mac, scheme, args):
        """QMIX's networks, then Q*'s: the central agent network and the central mixer, each
        with its target. (Q*'s are initialised first, so that a seed gives the initial weights
        it gave in earlier versions.)"""
        self.central_mac = MAC_REGISTRY[args.mac](scheme, {"agents": args.n_agents}, args)
        self.central_mixer = MIXER_REGISTRY[args.central_mixer](args)
        self.target_central_mac = copy.deepcopy(self.central_mac)
        self.target_central_mixer = copy.deepcopy(self.central_mixer)
        return {
            **super().build_networks(mac, scheme, args),
            "central_agent": NetworkPair(self.central_mac.agent, self.target_central_mac.agent, "agent"),
            "central_mixer": NetworkPair(self.central_mixer, self.target_central_mixer, "mixer"),
        }

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
            target_values = self._next_state_values(online_qs, target_central_qs, batch, inputs, avail_actions,
                                                    states, filled)
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

    def _next_state_values(self, online_qs, target_central_qs, batch, inputs, avail_actions, states, filled):
        """Q*'s value ``[B, T, 1]`` of each filled step's state under ``target_operator``, 0 elsewhere."""
        if self.args.double_q:
            selecting_qs, selecting_mixer = online_qs, self.mixer
        else:
            selecting_qs, selecting_mixer = self.target_mac.unroll(batch, inputs), self.target_mixer
        next_state_values = NEXT_STATE_VALUES[self.targets.operator]
        values = next_state_values(self, online_qs[filled], selecting_qs[filled], selecting_mixer,
                                   target_central_qs[filled], avail_actions[filled], states[filled])
        return at_steps(filled, values)

    def _greedy_central_values(self, online_qs, selecting_qs, selecting_mixer, target_central_qs, avail_actions,
                               states):
        """``max``: Q*' ``[N, 1]`` at QMIX's greedy next joint action (WQMIX's own target)."""
        utilities = self.targets.agent_next_values(target_central_qs, online_qs, avail_actions,
                                                   target_selection_qs=selecting_qs)
        return self.target_central_mixer(utilities, states)

    def _joint_soft_mellowmax_values(self, online_qs, selecting_qs, selecting_mixer, target_central_qs, avail_actions,
                                     states):
        """``soft_mellowmax``: over the greedy joint action and its one-agent deviations, ``[N, 1]``."""
        candidates, candidate_mask = joint_action_candidates(greedy_actions(selecting_qs, avail_actions), avail_actions)
        central_values = self._central_values_of(candidate_agent_qs(target_central_qs, candidates), states,
                                                 candidate_mask)
        weight_values = selecting_mixer(candidate_agent_qs(selecting_qs, candidates), states).squeeze(-1)
        return self.targets.joint_soft_mellowmax(central_values, weight_values, candidate_mask).unsqueeze(-1)

    def _central_values_of(self, candidate_utilities, states, candidate_mask):
        """Q*' of the real candidates ``[N, K]`` (0 at the others) in one batched pass of the target
        central mixer: its 256-wide layers run once per real (state, candidate) pair, the bulk of
        this target's cost, so the unavailable candidates and the greedy action's repeats are skipped."""
        n_candidates = candidate_mask.shape[-1]
        pair_states = states.unsqueeze(1).expand(-1, n_candidates, -1)[candidate_mask]
        values = self.target_central_mixer(candidate_utilities[candidate_mask], pair_states)
        return candidate_utilities.new_zeros(candidate_mask.shape).index_put((candidate_mask,), values.squeeze(-1))

    def _weights(self, q_tot, targets, online_qs, target_central_qs, actions, avail_actions, states, transitions):
        """The per-step weights ``[B, T, 1]`` of the QMIX loss (``wqmix_weighting``)."""
        return WEIGHTINGS[self.args.wqmix_weighting].weights(self, q_tot, targets, online_qs, target_central_qs,
                                                             actions, avail_actions, states, transitions)

    def _optimistic_weights(self, q_tot, targets, online_qs, target_central_qs, actions, avail_actions, states,
                            transitions):
        return optimistic_weights(q_tot, targets, self.args.wqmix_alpha)

    def _central_weights(self, q_tot, targets, online_qs, target_central_qs, actions, avail_actions, states,
                         transitions):
        greedy = greedy_actions(online_qs[:, :-1], avail_actions[:, :-1])
        is_greedy = (actions.squeeze(3) == greedy).all(dim=2, keepdim=True)
        greedy_central_utilities = torch.gather(target_central_qs[:, :-1], 3, greedy.unsqueeze(3)).squeeze(3)
        greedy_central_values = mix_at(transitions, self.target_central_mixer, greedy_central_utilities, states[:, :-1])
        return central_weights(is_greedy, targets, greedy_central_values, self.args.wqmix_alpha)

    def forward_only_passes(self):
        """The target central agent and mixer (the mixer again for CW's weights); the QMIX
        target agent only without ``double_q``. With the joint-action Soft Mellowmax the
        central mixer's pass and a QMIX mixer's pass (for the weights) cover every candidate
        joint action of a state: counted as one pass each (a lower bound, as for RES)."""
        joint = self.args.target_operator == "soft_mellowmax"
        return {
            "agent": 0 if self.args.double_q else 1,
            "mixer": 1 if joint else 0,
            "central_agent": 1,
            "central_mixer": 1 + WEIGHTINGS[self.args.wqmix_weighting].central_mixer_passes,
        }


@dataclass(frozen=True)
class Weighting:
    """One ``wqmix_weighting``: the learner's method that computes the weights, and the extra
    forward passes of the target central mixer it makes per transition (for the FLOPs count)."""

    weights: Callable
    central_mixer_passes: int


WEIGHTINGS = {
    "ow": Weighting(weights=WQMIXLearner._optimistic_weights, central_mixer_passes=0),
    "cw": Weighting(weights=WQMIXLearner._central_weights, central_mixer_passes=1),
}

# target_operator: Q*'s next-state value, the learner's method for each operator of learners/targets.py.
NEXT_STATE_VALUES = {
    "max": WQMIXLearner._greedy_central_values,
    "soft_mellowmax": WQMIXLearner._joint_soft_mellowmax_values,
}
