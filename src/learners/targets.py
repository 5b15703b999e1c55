"""Target construction, in one place for every value-based learner.

Next-state values. Per agent, an operator over the target network's Q-values of the
available actions takes the place of Q-learning's max (``target_operator``):

- ``max``: the hard max; with ``double_q`` the online network picks the action and the
  target network values it.
- ``soft_mellowmax``: Soft Mellowmax (MAST.md section 2),
  ``(1/omega) log sum_a softmax(alpha W)_a exp(omega Q_a)`` with Q the target network's Qs.
  Double Q composes through the softmax weights: with ``double_q`` the weights W come from
  the network that selects (the online one), the values Q from the one that evaluates
  (the target); without it W is Q. So ``double_q`` keeps one meaning under both operators
  (an ablation of the operator does not also switch off double Q), and the operator is a
  smooth relaxation of the max target: as alpha grows the weights become one-hot on W's
  argmax, giving the double-Q value (or the max without double Q); alpha = 0 gives
  Mellowmax of the target Qs. ``sm_scale`` says in which units omega and alpha are given:
  ``fixed``, the paper's, as plain numbers, or ``spread``, in units of the spread (max minus
  mean over the available actions) of the values each multiplies, per agent and step, so
  that the operator does the same to utilities of any scale (``SM(c Q) = c SM(Q)``). A
  QMIX mixer carries the scale of the value in its own weights, so the agents' utilities
  have none of their own, and a fixed omega has no fixed meaning for them (docs/results.md).

The learner mixes those values with its target mixer. Learners that value joint actions
directly reduce a set of candidate joint values instead: RES with
:meth:`TargetBuilder.candidate_next_values`, WQMIX with Soft Mellowmax over Q*'s candidates
(:meth:`TargetBuilder.joint_soft_mellowmax`).

Returns: TD(lambda) over the episode with :func:`build_td_lambda_targets`; lambda follows
``td_lambda_schedule`` (piecewise constant over env steps, each point an env step or a
fraction of ``t_max``) or, when that is empty, is the constant ``td_lambda``.
"""

from dataclasses import dataclass
from typing import Callable

import torch

from components.schedules import PiecewiseConstantSchedule, in_env_steps
from utils.rl_utils import (
    build_td_lambda_targets,
    greedy_actions,
    scale_free_soft_mellowmax,
    soft_mellowmax,
    softmax_weighted_value,
)

# sm_scale: the units of Soft Mellowmax's omega and alpha (see the module docstring).
SOFT_MELLOWMAX_SCALES = {"fixed": soft_mellowmax, "spread": scale_free_soft_mellowmax}


def _greedy_value(builder, target_qs, selecting_qs, avail):
    """``max``, per agent: the target Q of the selecting Qs' greedy available action (0 with none)."""
    picked = greedy_actions(selecting_qs, avail).unsqueeze(-1)
    values = torch.gather(target_qs, -1, picked).squeeze(-1)
    return torch.where((avail > 0).any(dim=-1), values, torch.zeros_like(values))


def _res_softmax_value(builder, target_values, selecting_values, candidate_mask):
    """``max``, over candidate joint actions: RES's softmax operator (its stand-in for the max)."""
    return softmax_weighted_value(target_values, builder.res_beta, candidate_mask, weight_q=selecting_values)


def _soft_mellowmax_value(builder, target_values, selecting_values, mask):
    """``soft_mellowmax``, per agent over actions or over candidate joint actions alike."""
    return builder.soft_mellowmax(target_values, builder.sm_omega, builder.sm_alpha, mask, weight_q=selecting_values)


@dataclass(frozen=True)
class TargetOperator:
    """What ``target_operator`` does to the next state's values: per agent, over its available
    actions (``agent_value``), and over candidate joint actions (``candidate_value``, RES). Both
    take ``(builder, target values, selecting values, mask)``."""

    agent_value: Callable
    candidate_value: Callable


TARGET_OPERATORS = {
    "max": TargetOperator(agent_value=_greedy_value, candidate_value=_res_softmax_value),
    "soft_mellowmax": TargetOperator(agent_value=_soft_mellowmax_value, candidate_value=_soft_mellowmax_value),
}


class TargetBuilder:
    def __init__(self, args):
        self.double_q = args.double_q
        self.gamma = args.gamma
        self.n_agents = args.n_agents
        self.operator = args.target_operator
        self.reduce = TARGET_OPERATORS[args.target_operator]
        self.sm_omega = args.sm_omega
        self.sm_alpha = args.sm_alpha
        self.soft_mellowmax = SOFT_MELLOWMAX_SCALES[args.sm_scale]
        self.res_beta = args.res_beta
        self.lambda_schedule = PiecewiseConstantSchedule(
            in_env_steps(args.td_lambda_schedule or [[0, args.td_lambda]], args.t_max))

    def agent_next_values(self, target_agent_qs, online_agent_qs, avail_actions, target_selection_qs=None):
        """Per-agent state values ``[B, T, agents]`` from Qs ``[B, T, agents, actions]``.

        Args:
            target_agent_qs: the Qs that evaluate (the target network's).
            online_agent_qs: the Qs that select when ``double_q`` is on.
            avail_actions: nonzero where an action is available; an agent with none gets 0.
            target_selection_qs: the Qs that select when ``double_q`` is off (None: the
                evaluating Qs themselves). WQMIX's max target passes its QMIX agents' Qs,
                since it values the QMIX agents' greedy action with its central Q.
        """
        if target_selection_qs is None:
            target_selection_qs = target_agent_qs
        selecting = self.selection_qs(online_agent_qs, target_selection_qs)
        return self.reduce.agent_value(self, target_agent_qs, selecting, avail_actions)

    def candidate_next_values(self, target_values, online_values, candidate_mask):
        """Joint state values ``[B, T]`` from joint values of candidate joint actions ``[B, T, K]``.

        RES's target (Pan et al. 2021): with ``target_operator: max`` its softmax operator,
        ``sum_u softmax(res_beta * W)_u Q(u)`` over the candidates, RES's published stand-in
        for the max over joint actions; with ``soft_mellowmax`` MAST's Soft Mellowmax over the
        same candidates (whose omega -> 0 limit with ``sm_alpha = res_beta`` is RES's softmax).
        Q: the target network's values; W: the online network's with ``double_q``, else Q.
        ``candidate_mask`` is nonzero on real candidates; a step with none gets 0.
        """
        selecting = self.selection_qs(online_values, target_values)
        return self.reduce.candidate_value(self, target_values, selecting, candidate_mask)

    def joint_soft_mellowmax(self, values, weight_values, candidate_mask):
        """Soft Mellowmax ``[B, T]`` over candidate joint actions ``[B, T, K]``: ``values`` the
        evaluating joint values, ``weight_values`` those that set the softmax weights, the
        real candidates nonzero in ``candidate_mask`` (a step with none gets 0)."""
        return _soft_mellowmax_value(self, values, weight_values, candidate_mask)

    def selection_qs(self, online_qs, target_qs):
        """The Qs that pick next actions: the online network's with ``double_q``, else the target's."""
        return online_qs if self.double_q else target_qs

    def lambda_at(self, t_env):
        """The lambda of the TD(lambda) targets at env step ``t_env``."""
        return self.lambda_schedule.eval(t_env)

    def returns(self, rewards, terminated, mask, target_values, t_env):
        """TD(lambda) returns ``[B, T, 1]`` from mixed target values ``[B, T + 1, 1]``."""
        return build_td_lambda_targets(
            rewards, terminated, mask, target_values, self.n_agents, self.gamma, self.lambda_at(t_env)
        )
