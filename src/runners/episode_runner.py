"""Collects whole episodes from ``batch_size_run`` envs with the controller.

The three registered runners share this loop and differ only in how their envs step
(:mod:`runners.env_backends`): ``episode`` (in this process), ``parallel`` (one process
per env) and ``vectorized`` (all envs in one jitted, vmapped call).
"""

from collections import defaultdict

import numpy as np
import torch

from components.episode_batch import EpisodeBatch
from runners import jax_rollout
from runners.env_backends import InProcessEnvs, SubprocessEnvs, VectorizedEnvs


class EpisodeRunner:
    def __init__(self, args, logger):
        self.args = args
        self.logger = logger
        self.batch_size = args.batch_size_run
        self.envs = self._make_envs(args)
        self.env_info = self.envs.env_info
        self.episode_limit = self.env_info["episode_limit"]
        self.t_env = 0
        self.train_returns, self.test_returns = [], []
        self.train_stats, self.test_stats = defaultdict(float), defaultdict(float)
        self.log_train_stats_t = -args.runner_log_interval - 1

    def _make_envs(self, args):
        return InProcessEnvs(args.env, vars(args.env_args), self.batch_size, args.seed)

    def setup(self, scheme, groups, preprocess, mac):
        self.scheme, self.groups, self.preprocess = scheme, groups, preprocess
        self.mac = mac

    def get_env_info(self):
        return self.env_info

    def close_env(self):
        self.envs.close()

    def state_dict(self):
        """t_env, the episode stats gathered since they were last logged, and the envs' state."""
        return {
            "t_env": self.t_env,
            "log_train_stats_t": self.log_train_stats_t,
            "train_returns": list(self.train_returns),
            "test_returns": list(self.test_returns),
            "train_stats": dict(self.train_stats),
            "test_stats": dict(self.test_stats),
            "envs": self.envs.state_dict(),
        }

    def load_state_dict(self, state):
        self.envs.load_state_dict(state["envs"])
        self.t_env = state["t_env"]
        self.log_train_stats_t = state["log_train_stats_t"]
        self.train_returns, self.test_returns = list(state["train_returns"]), list(state["test_returns"])
        self.train_stats = defaultdict(float, state["train_stats"])
        self.test_stats = defaultdict(float, state["test_stats"])

    def _new_batch(self):
        return EpisodeBatch(
            self.scheme, self.groups, self.batch_size, self.episode_limit + 1,
            preprocess=self.preprocess, device=self.args.device,
        )

    def run(self, test_mode=False):
        """One episode in each env; returns their :class:`EpisodeBatch`."""
        batch = self._new_batch()
        obs, state, avail = self.envs.reset()
        self.mac.init_hidden(self.batch_size)
        every = torch.arange(self.batch_size)
        batch.update({"obs": obs, "state": state, "avail_actions": avail}, bs=every, ts=0)
        active = np.ones(self.batch_size, bool)
        returns = np.zeros(self.batch_size)
        lengths = np.zeros(self.batch_size, np.int64)
        finished_infos = []
        t = 0
        while active.any():
            if t >= self.episode_limit:
                raise RuntimeError(f"an episode ran past the env's episode_limit ({self.episode_limit})")
            actions = self.mac.select_actions(batch, t, self.t_env, test_mode=test_mode)
            live = torch.as_tensor(np.flatnonzero(active))
            batch.update({"actions": actions[live].unsqueeze(-1)}, bs=live, ts=t, mark_filled=False)
            reward, done, infos, obs, state, avail = self.envs.step(actions.cpu().numpy(), active)
            terminated = np.array([done[i] and not infos[i].get("episode_limit", False) for i in live.tolist()], np.uint8)
            batch.update({"reward": reward[live], "terminated": terminated}, bs=live, ts=t, mark_filled=False)
            batch.update({"obs": obs[live], "state": state[live], "avail_actions": avail[live]}, bs=live, ts=t + 1)
            returns[active] += reward[active]
            lengths[active] += 1
            finished_infos += [infos[i] for i in live.tolist() if done[i]]
            active &= ~done
            t += 1

        if not test_mode:
            self.t_env += int(lengths.sum())
        self._record(returns, lengths, finished_infos, test_mode)
        return batch

    def _record(self, returns, lengths, infos, test_mode):
        stats = self.test_stats if test_mode else self.train_stats
        episode_returns = self.test_returns if test_mode else self.train_returns
        episode_returns.extend(returns.tolist())
        stats["n_episodes"] += len(returns)
        stats["ep_length"] += float(lengths.sum())
        for info in infos:
            for key, value in info.items():
                stats[key] += float(value)

        if test_mode and len(self.test_returns) >= self.args.test_nepisode:
            self._log(self.test_returns, self.test_stats, "test_")
        elif not test_mode and self.t_env - self.log_train_stats_t >= self.args.runner_log_interval:
            self._log(self.train_returns, self.train_stats, "")
            self.logger.log_stat("epsilon", self.mac.epsilon, self.t_env)
            self.log_train_stats_t = self.t_env

    def _log(self, returns, stats, prefix):
        self.logger.log_stat(prefix + "return_mean", float(np.mean(returns)), self.t_env)
        self.logger.log_stat(prefix + "return_std", float(np.std(returns)), self.t_env)
        n_episodes = stats.pop("n_episodes")
        for key, total in stats.items():
            self.logger.log_stat(f"{prefix}{key}_mean", total / n_episodes, self.t_env)
        returns.clear()
        stats.clear()


class ParallelRunner(EpisodeRunner):
    def _make_envs(self, args):
        return SubprocessEnvs(args.env, vars(args.env_args), self.batch_size, args.seed, args.parallel_worker_timeout)


class VectorizedRunner(EpisodeRunner):
    """All envs in one jitted, vmapped call; with ``jit_collection`` (and an acting policy that
    :mod:`runners.jax_rollout` mirrors) whole episodes in one jitted call, policy included."""

    def _make_envs(self, args):
        return VectorizedEnvs(args.env, vars(args.env_args), self.batch_size, args.seed)

    def setup(self, scheme, groups, preprocess, mac):
        super().setup(scheme, groups, preprocess, mac)
        self.rollout = None
        if self.args.jit_collection and jax_rollout.supports(mac):
            self.rollout = jax_rollout.EpisodeRollout(self.envs.vector_env, self.args.obs_last_action,
                                                      self.args.obs_agent_id, self.args.seed)

    def run(self, test_mode=False):
        if self.rollout is None:
            return super().run(test_mode)
        epsilon = self.mac.action_selector.exploration_rate(self.t_env, test_mode)
        episodes = self.rollout.run(self.mac.agent, epsilon)
        batch = self._new_batch()
        for key, value in episodes.items():
            if key in batch.data:
                value = torch.tensor(value).movedim(0, 1)  # [n, T, ...]
                target = batch.data[key][:, : value.shape[1]]
                target.copy_(value.reshape(target.shape))
        lengths = episodes["filled"].sum(axis=0) - 1
        returns = episodes["reward"].sum(axis=0)
        infos = [{"battle_won": bool(won), "episode_limit": bool(limit)}
                 for won, limit in zip(episodes["won"], episodes["time_limit"])]
        if not test_mode:
            self.t_env += int(lengths.sum())
        self._record(returns.astype(np.float64), lengths, infos, test_mode)
        return batch

    def state_dict(self):
        state = super().state_dict()
        if self.rollout is not None:
            state["rollout"] = self.rollout.state_dict()
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        if self.rollout is not None and "rollout" in state:
            self.rollout.load_state_dict(state["rollout"])
