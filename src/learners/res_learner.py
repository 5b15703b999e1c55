"""RES (``res_learner``): Regularized Softmax deep multi-agent Q-learning (Pan et al. 2021).

Two changes to the QMIX (or VDN) learner, both against overestimation:

- Target: the next-state value is a softmax over joint actions instead of the max. The
  joint action space is too large, so, as in the paper, the softmax runs over the candidate
  set {(u_i, greedy u_-i)}: each agent's available actions with every other agent at its
  greedy action, a set of distinct joint actions (the greedy one counted once; the authors'
  code counts it once per agent). The greedy actions, and the softmax weights, come from the
  online networks with ``double_q`` (as in the authors' code), else from the target ones; the
  values from the target networks. :meth:`TargetBuilder.candidate_next_values` reduces the
  candidates (RES's softmax, or Soft Mellowmax when ``target_operator`` asks for it) and
  TD(lambda) follows as for every learner.
- Regulariser: ``res_lambda * masked mean of (Q_tot(s, u) - G)^2`` added to the TD loss,
  where G is the discounted return of the rest of the episode (no bootstrap), the baseline
  that keeps Q_tot from drifting far above what the team actually obtains.
"""

import torch

from learners.nq_learner import NQLearner, mix_at, td_stats
from utils.rl_utils import discounted_returns, greedy_actions


def joint_action_candidates(greedy, avail_actions):
    """The candidate joint actions of RES and which of them count.

    Args:
        greedy: ``[..., agents]`` greedy action of each agent.
        avail_actions: ``[..., agents, actions]``.

    Returns ``(candidates [..., agents * actions, agents], mask [..., agents * actions])``:
    candidate ``i * actions + a`` is the greedy joint action with agent i's action set to a;
    it counts if a is available to agent i and it is not a repeat of the greedy joint action
    (which counts once, as agent 0's candidate).
    """
    n_agents, n_actions = avail_actions.shape[-2:]
    n_candidates = n_agents * n_actions
    changed_agent = torch.arange(n_agents, device=greedy.device).repeat_interleave(n_actions)
    new_action = torch.arange(n_actions, device=greedy.device).repeat(n_agents)
    batch_shape = greedy.shape[:-1]
    candidates = greedy.unsqueeze(-2).expand(*batch_shape, n_candidates, n_agents).clone()
    candidates.scatter_(-1, changed_agent.view(n_candidates, 1).expand(*batch_shape, n_candidates, 1),
                        new_action.view(n_candidates, 1).expand(*batch_shape, n_candidates, 1))
    available = (avail_actions > 0).reshape(*batch_shape, n_candidates)
    changed_agent_greedy = torch.gather(greedy, -1, changed_agent.expand(*batch_shape, n_candidates))
    repeats_greedy = (new_action == changed_agent_greedy) & (changed_agent > 0)
    return candidates, available & ~repeats_greedy


def candidate_agent_qs(agent_qs, candidates):
    """Each agent's Q of its action in each candidate: ``[..., agents, actions]`` and
    ``[..., K, agents]`` -> ``[..., K, agents]``."""
    n_candidates = candidates.shape[-2]
    expanded = agent_qs.unsqueeze(-3).expand(*agent_qs.shape[:-2], n_candidates, *agent_qs.shape[-2:])
    return torch.gather(expanded, -1, candidates.unsqueeze(-1)).squeeze(-1)


def return_regulariser(q_tot, discounted_return, mask):
    """Masked mean of ``(Q_tot - G)^2`` over real steps."""
    return ((q_tot - discounted_return) * mask).pow(2).sum() / mask.sum()


class RESLearner(NQLearner):
    def compute_loss(self, batch, t_env):
        rewards, actions, terminated, mask, avail_actions = self.unpack(batch)
        states = batch["state"]
        transitions, filled = self.step_masks(batch, mask)
        inputs = self.mac.sequence_inputs(batch)
        agent_qs = self.mac.unroll(batch, inputs)
        q_tot = mix_at(transitions, self.mixer, torch.gather(agent_qs[:, :-1], 3, actions).squeeze(3), states[:, :-1])

        with torch.no_grad():
            online_qs = agent_qs.detach()
            target_agent_qs = self.target_mac.unroll(batch, inputs)
            greedy = greedy_actions(self.targets.selection_qs(online_qs, target_agent_qs), avail_actions)
            candidates, candidate_mask = joint_action_candidates(greedy, avail_actions)
            target_candidates = mix_at(filled, self.target_mixer, candidate_agent_qs(target_agent_qs, candidates), states)
            online_candidates = mix_at(filled, self.mixer, candidate_agent_qs(online_qs, candidates), states)
            next_values = self.targets.candidate_next_values(
                target_candidates.squeeze(-1), online_candidates.squeeze(-1), candidate_mask
            )
            targets = self.targets.returns(rewards, terminated, mask, next_values.unsqueeze(-1), t_env)
            episode_returns = discounted_returns(rewards, mask, self.args.gamma)

        n_real = mask.sum()
        td_error = (q_tot - targets) * mask
        td_loss = td_error.pow(2).sum() / n_real
        regulariser = return_regulariser(q_tot, episode_returns, mask)
        stats = {
            "loss_td": td_loss.detach(),
            "loss_res": regulariser.detach(),
            **td_stats(q_tot, targets, td_error, mask, self.args.n_agents),
            "return_baseline_mean": (episode_returns * mask).sum() / n_real,
        }
        return td_loss + self.args.res_lambda * regulariser, stats

    def forward_only_passes(self):
        """The target agent once; the mixer over the candidate joint actions, target and
        online: its hypernetworks run once per state for all candidates."""
        return {"agent": 1, "mixer": 2}
