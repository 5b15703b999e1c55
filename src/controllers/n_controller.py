"""The multi-agent controller (``n_mac``): one agent network shared by all agents.

Each agent's input is its observation, optionally its previous action (one-hot) and its
id (one-hot). Stepping (``select_actions``) carries the GRU state between calls;
``unroll`` computes the Q-values of whole episodes for the learner in one pass.
"""

from typing import NamedTuple, Optional

import torch

from components.action_selectors import REGISTRY as SELECTOR_REGISTRY
from modules.agents import REGISTRY as AGENT_REGISTRY


class SequenceInputs(NamedTuple):
    """Agent inputs of whole episodes, one row per (episode, agent), episodes longest first."""

    rows: torch.Tensor  # [episodes * agents, T, input]
    lengths: torch.Tensor  # [episodes * agents] filled steps of each row's episode (CPU, non-increasing)
    order: Optional[torch.Tensor]  # the episode order used, if not the batch's own
    batch_size: int
    steps: int


class NMAC:
    def __init__(self, scheme, groups, args):
        self.n_agents = args.n_agents
        self.n_actions = args.n_actions
        self.obs_last_action = args.obs_last_action
        self.obs_agent_id = args.obs_agent_id
        self.agent = AGENT_REGISTRY[args.agent](self._input_shape(scheme), args)
        self.action_selector = SELECTOR_REGISTRY[args.action_selector](args)
        self.hidden_states = None

    def _input_shape(self, scheme):
        shape = scheme["obs"]["vshape"]
        if self.obs_last_action:
            shape += scheme["actions_onehot"]["vshape"][0]
        if self.obs_agent_id:
            shape += self.n_agents
        return shape

    def _build_inputs(self, batch, time):
        """Agent inputs at time steps ``time`` (a slice): ``[B, len(time), agents, input]``."""
        obs = batch["obs"][:, time]
        parts = [obs]
        if self.obs_last_action:
            onehot = batch["actions_onehot"]
            start, stop, _ = time.indices(onehot.shape[1])
            previous = onehot[:, max(start - 1, 0): stop - 1]  # only the steps asked for, not the episode
            if start == 0:
                previous = torch.cat([torch.zeros_like(onehot[:, :1]), previous], dim=1)
            parts.append(previous)
        if self.obs_agent_id:
            ids = torch.eye(self.n_agents, device=obs.device)
            parts.append(ids.expand(*obs.shape[:2], -1, -1))
        return torch.cat(parts, dim=-1)

    @property
    def epsilon(self):
        """The exploration rate of the last action selection."""
        return self.action_selector.epsilon

    def init_hidden(self, batch_size):
        self.hidden_states = self.agent.init_hidden(batch_size * self.n_agents)

    @torch.no_grad()
    def select_actions(self, batch, t, t_env, test_mode=False):
        """Actions ``[B, agents]`` for time step ``t`` of every episode in ``batch``."""
        inputs = self._build_inputs(batch, slice(t, t + 1))[:, 0]
        batch_size = inputs.shape[0]
        qs, self.hidden_states = self.agent(inputs.reshape(batch_size * self.n_agents, -1), self.hidden_states)
        qs = qs.view(batch_size, self.n_agents, -1)
        return self.action_selector.select_action(qs, batch["avail_actions"][:, t], t_env, test_mode)

    def sequence_inputs(self, batch):
        """The agents' inputs over whole episodes, laid out for :meth:`unroll`.

        Build them once per batch and unroll every controller with the same scheme from them
        (online and target). Episodes are ordered longest first (the replay buffers sample
        them in that order; another order is sorted here and restored by :meth:`unroll`),
        as the agent's packed unroll needs.
        """
        inputs = self._build_inputs(batch, slice(None))
        batch_size, steps = inputs.shape[:2]
        if "filled" in batch:
            lengths = batch["filled"][:, :, 0].sum(dim=1).cpu()
        else:
            lengths = torch.full((batch_size,), steps)
        order = None
        if (lengths[1:] > lengths[:-1]).any():
            order = torch.argsort(lengths, descending=True, stable=True)
            inputs, lengths = inputs[order.to(inputs.device)], lengths[order]
        rows = inputs.transpose(1, 2).reshape(batch_size * self.n_agents, steps, -1)
        return SequenceInputs(rows, lengths.repeat_interleave(self.n_agents), order, batch_size, steps)

    def unroll(self, batch, inputs=None):
        """Q-values of every agent at every step of ``batch``: ``[B, T, agents, actions]``.

        ``inputs``: :meth:`sequence_inputs` of ``batch`` when already built. Steps after an
        episode's last filled step hold zeros.
        """
        if inputs is None:
            inputs = self.sequence_inputs(batch)
        hidden = self.agent.init_hidden(inputs.rows.shape[0])
        qs = self.agent.forward_sequence(inputs.rows, hidden, inputs.lengths)
        qs = qs.view(inputs.batch_size, self.n_agents, inputs.steps, -1).transpose(1, 2)
        if inputs.order is not None:
            qs = qs[torch.argsort(inputs.order).to(qs.device)]
        return qs

    def parameters(self):
        return self.agent.parameters()

    def load_state(self, other):
        self.agent.load_state_dict(other.agent.state_dict())

    def to(self, device):
        self.agent.to(device)
        return self
