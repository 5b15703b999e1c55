"""The value learner of QMIX and VDN (``nq_learner``), and the base of the others.

One update: unroll the online and target agents over the sampled episodes, mix, build
targets with :class:`TargetBuilder`, take an optimizer step on the masked mean squared TD
error with the global gradient norm clipped. Target networks are hard copies, refreshed
every ``target_update_interval`` episodes, or with ``target_update_tau`` below 1 Polyak
averages moved after every update. Subclasses change :meth:`compute_loss`; one with
networks of its own (WQMIX's central Q) adds them in :meth:`build_networks`, the one place
a learner declares its networks (online/target pairs with a role, learners/networks.py),
where the optimizer, target updates, checkpoints and a sparse trainer find them. The run
attaches the sparse trainer (:meth:`attach_sparse`) once the learner is built.
"""

import copy

import torch

from components.reward_standardiser import RewardStandardiser
from learners.networks import NetworkPair, checkpoint_names
from learners.optimizers import OPTIMIZERS, build_optimizer
from learners.targets import TargetBuilder
from modules.mixers import REGISTRY as MIXER_REGISTRY
from utils.checkpoint import load_module_state
from utils.pymarl_files import (
    AGENT_FILE,
    MIXER_FILE,
    OPTIMIZER_FILE,
    agent_kind_hint,
    from_pymarl_mixer_names,
    optimizer_state_from_pymarl,
    pymarl_files,
    read_pymarl_file,
)


def td_stats(q_tot, targets, td_error, mask, n_agents):
    """PyMARL2's learner stats over the real steps of a batch.

    As in PyMARL2, ``q_taken_mean`` and ``target_mean`` are divided by the number of
    agents as well (a per-agent scale of the joint value), so users' plots compare.
    """
    n_real = mask.sum()
    return {
        "td_error_abs": td_error.abs().sum().detach() / n_real,
        "q_taken_mean": (q_tot * mask).sum().detach() / (n_real * n_agents),
        "target_mean": (targets * mask).sum().detach() / (n_real * n_agents),
    }


def at_steps(steps, values):
    """``[B, T, ...]`` holding ``values [n, ...]`` at the n time steps where ``steps [B, T]`` is
    True and 0 elsewhere: the padded layout of values computed on real steps only."""
    return values.new_zeros(*steps.shape, *values.shape[1:]).index_put((steps,), values)


def mix_at(steps, mixer, agent_values, states):
    """``mixer(agent_values, states)`` at the time steps where ``steps [B, T]`` is True, 0 at the
    others, so that padding after an episode's end costs no mixing. ``agent_values`` is
    ``[B, T, (K,) agents]``, ``states`` ``[B, T, state]``; returns ``[B, T, (K,) 1]``."""
    return at_steps(steps, mixer(agent_values[steps], states[steps]))


class NQLearner:
    PYMARL_NMIX_NAMES = True  # mixer.th as PyMARL2's nq_learner writes it (utils/pymarl_files.py)

    def __init__(self, mac, scheme, logger, args):
        self.args = args
        self.mac = mac
        self.logger = logger
        self.pairs = self.build_networks(mac, scheme, args)
        self.targets = TargetBuilder(args)
        self.params = [param for network in self.trained_networks().values() for param in network.parameters()]
        self.optimiser = build_optimizer(self.params, args)
        self.last_target_update_episode = 0
        self.log_stats_t = -args.learner_log_interval - 1
        self.sparse = None
        self.reward_standardiser = RewardStandardiser() if args.standardise_rewards else None

    def build_networks(self, mac, scheme, args):
        """The learner's networks, ``{name: NetworkPair}`` in the optimizer's order: the agent
        network of ``mac`` and the mixer, each with its target copy."""
        self.mixer = MIXER_REGISTRY[args.mixer](args)
        self.target_mac = copy.deepcopy(mac)
        self.target_mixer = copy.deepcopy(self.mixer)
        return {
            "agent": NetworkPair(mac.agent, self.target_mac.agent, "agent"),
            "mixer": NetworkPair(self.mixer, self.target_mixer, "mixer"),
        }

    def attach_sparse(self, sparse_trainer):
        """Train sparsely from now on: ``sparse_trainer`` (sparse/trainer.py, built over
        :attr:`pairs` and this learner's optimizer) has masked the networks and their targets."""
        self.sparse = sparse_trainer

    # --- the update -----------------------------------------------------------------
    def unpack(self, batch):
        """Rewards, actions, terminated, loss mask ``[B, T-1, ...]`` and availability ``[B, T, ...]``.

        With ``standardise_rewards`` the rewards are standardised, and this batch's real rewards
        join the running statistics first (once per update: every learner unpacks once)."""
        rewards = batch["reward"][:, :-1]
        actions = batch["actions"][:, :-1]
        terminated = batch["terminated"][:, :-1].float()
        mask = batch["filled"][:, :-1].float()
        mask[:, 1:] = mask[:, 1:] * (1 - terminated[:, :-1])
        if self.reward_standardiser is not None:
            rewards = self.reward_standardiser(rewards, mask)
        return rewards, actions, terminated, mask, batch["avail_actions"]

    @staticmethod
    def step_masks(batch, mask):
        """``(transitions [B, T-1], states [B, T])``: where the loss ``mask`` is on, and the
        filled steps, the states whose values targets read; both boolean, for :func:`mix_at`."""
        return mask[..., 0] > 0, batch["filled"][..., 0] > 0

    def compute_loss(self, batch, t_env):
        """The loss to minimise and the stats to log (tensors, averaged over real steps)."""
        rewards, actions, terminated, mask, avail_actions = self.unpack(batch)
        transitions, filled = self.step_masks(batch, mask)
        inputs = self.mac.sequence_inputs(batch)
        agent_qs = self.mac.unroll(batch, inputs)
        chosen_qs = torch.gather(agent_qs[:, :-1], dim=3, index=actions).squeeze(3)
        with torch.no_grad():
            target_agent_qs = self.target_mac.unroll(batch, inputs)
            next_values = self.targets.agent_next_values(target_agent_qs[filled], agent_qs.detach()[filled],
                                                         avail_actions[filled])
            target_values = at_steps(filled, self.target_mixer(next_values, batch["state"][filled]))
            targets = self.targets.returns(rewards, terminated, mask, target_values, t_env)
        q_tot = mix_at(transitions, self.mixer, chosen_qs, batch["state"][:, :-1])
        td_error = (q_tot - targets) * mask
        loss = td_error.pow(2).sum() / mask.sum()
        return loss, {"loss_td": loss.detach(), **td_stats(q_tot, targets, td_error, mask, self.args.n_agents)}

    def train(self, batch, t_env, episode_num):
        loss, stats = self.compute_loss(batch, t_env)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if self.sparse is not None:
            self.sparse.after_backward(t_env)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.args.grad_norm_clip)
        self.optimiser.step()
        if self.sparse is not None:
            self.sparse.after_step(t_env)

        if self.args.target_update_tau < 1.0:
            self.update_targets(self.args.target_update_tau)
        elif (episode_num - self.last_target_update_episode) / self.args.target_update_interval >= 1.0:
            self.update_targets()
            self.last_target_update_episode = episode_num

        if t_env - self.log_stats_t >= self.args.learner_log_interval:
            stats["grad_norm"] = grad_norm
            stats["td_lambda"] = self.targets.lambda_at(t_env)
            for key, value in stats.items():
                self.logger.log_stat(key, float(value), t_env)
            if self.sparse is not None:
                self.sparse.log_stats(self.logger, t_env)
            self.log_stats_t = t_env

    def update_targets(self, tau=1.0):
        """Every target a hard copy of its online network, or with ``tau`` below 1 a Polyak step
        towards it (:meth:`NetworkPair.update_target`)."""
        for pair in self.pairs.values():
            pair.update_target(tau)

    # --- state ----------------------------------------------------------------------
    def networks(self):
        """Every network by the name a checkpoint stores it under: ``<name>`` for an online
        network, ``target_<name>`` for its target copy."""
        return checkpoint_names(self.pairs)

    def trained_networks(self):
        """The networks the optimizer trains, in the order it was given their parameters."""
        return {name: pair.online for name, pair in self.pairs.items()}

    def forward_only_passes(self):
        """Forward passes without gradients per transition of an update, by online network
        name (a target copy counts under its online network): here the target agent and the
        target mixer once each. For the training FLOPs ratio."""
        return {"agent": 1, "mixer": 1}

    def state_dict(self):
        """Everything a checkpoint needs to continue training: networks (online and target),
        optimizer and counters. A component with state of its own adds an entry here."""
        return {
            "networks": {name: module.state_dict() for name, module in self.networks().items()},
            "optimiser": self.optimiser.state_dict(),
            "last_target_update_episode": self.last_target_update_episode,
            "log_stats_t": self.log_stats_t,
            "sparse": None if self.sparse is None else self.sparse.state_dict(),
            "reward_standardiser": None if self.reward_standardiser is None else self.reward_standardiser.state_dict(),
        }

    def load_state_dict(self, state):
        """Inverse of :meth:`state_dict`; a ValueError names what does not fit this learner."""
        saved, expected = set(state["networks"]), set(self.networks())
        if saved != expected:
            raise ValueError(f"it holds networks {sorted(saved)}, this learner has {sorted(expected)}")
        for name, module in self.networks().items():
            load_module_state(module, state["networks"][name], name)
        self.optimiser.load_state_dict(state["optimiser"])
        self.last_target_update_episode = state["last_target_update_episode"]
        self.log_stats_t = state["log_stats_t"]
        if self.sparse is not None:
            if state.get("sparse") is None:
                raise ValueError("it holds no sparse masks, and this run has sparse.enabled=True")
            self.sparse.load_state_dict(state["sparse"])
        if self.reward_standardiser is not None:
            if state.get("reward_standardiser") is None:
                raise ValueError("it holds no reward statistics, and this run has standardise_rewards=True")
            self.reward_standardiser.load_state_dict(state["reward_standardiser"])

    def pymarl_files(self):
        """PyMARL2's ``agent.th``, ``mixer.th`` and ``opt.th`` of this learner (utils/pymarl_files.py)."""
        return pymarl_files(self.mac.agent, self.mixer, self.optimiser, self.trained_networks(), self.PYMARL_NMIX_NAMES)

    def load_pymarl_files(self, directory, with_optimizer):
        """Load the agent and mixer (and with ``with_optimizer`` the optimizer) from PyMARL2's
        files in ``directory``; the target networks become copies. A ValueError names what
        does not fit."""
        agent_state = read_pymarl_file(directory, AGENT_FILE)
        try:
            load_module_state(self.mac.agent, agent_state, AGENT_FILE)
        except ValueError as error:
            raise ValueError(f"{error}{agent_kind_hint(agent_state, self.args.use_rnn)}") from None
        mixer_state = read_pymarl_file(directory, MIXER_FILE)
        load_module_state(self.mixer, from_pymarl_mixer_names(mixer_state), MIXER_FILE)
        self.update_targets()
        if with_optimizer:
            settings = [{key: value for key, value in group.items() if key != "params"}
                        for group in self.optimiser.param_groups]
            try:
                self.optimiser.load_state_dict(optimizer_state_from_pymarl(
                    read_pymarl_file(directory, OPTIMIZER_FILE), self.trained_networks(), mixer_state,
                    self.args.optimizer, OPTIMIZERS[self.args.optimizer].mark))
            except (ValueError, KeyError, IndexError) as error:
                raise ValueError(f"{OPTIMIZER_FILE} does not fit this learner's optimizer ({error})") from None
            for group, setting in zip(self.optimiser.param_groups, settings):
                group.update(setting)  # this run's lr and the rest, not the file's

    def to(self, device):
        for pair in self.pairs.values():
            pair.online.to(device)
            pair.target.to(device)
        if self.sparse is not None:
            self.sparse.to(device)
        return self
