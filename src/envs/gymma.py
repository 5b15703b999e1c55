"""EPyMARL's ``gymma``: a gymnasium multi-agent env, or an mpe2 (PettingZoo) one, behind SMAC's interface.

``env_args.key`` names the env as EPyMARL does, ``<package>:<name>``: the package is imported
(it registers its envs) and ``<name>`` is either a gymnasium id
(``lbforaging:Foraging-8x8-2p-3f-v3``, ``rware:rware-tiny-2ag-v2``) or a PettingZoo
parallel-env module of the package (``mpe2:simple_spread_v3``).

- Observations: one per agent, zero-padded to the largest agent's size.
- State: the env's own global state if it has one (PettingZoo's ``state()``), else the
  agents' padded observations concatenated.
- Available actions: all of each agent's discrete actions, unless the env reports masks
  (gymnasium: an ``action_mask`` in its info, one row per agent, or a ``get_action_mask()``
  method; PettingZoo: an ``action_mask`` in each agent's info).
- Team reward: the sum of the agents' rewards (``reward_scalarisation: sum``, EPyMARL's
  common reward) or their mean (``mean``).
- Episodes end when the env says every agent is done, or are cut after ``time_limit`` steps
  (``episode_limit``; a cut is not a terminal state, and the info says ``episode_limit``). An
  end at the time limit counts as a cut even if the env calls it terminal, so set
  ``time_limit`` to the env's own limit (LBF 50, RWARE 500, MPE 25, as EPyMARL does).
  With ``time_limit_terminal`` an end at the time limit is terminal instead (no bootstrapping
  past it), as EPyMARL's own runner stores it.
"""

import importlib
import pkgutil
import re

import numpy as np

from utils.config import ConfigError

SCALARISATIONS = {"sum": np.sum, "mean": np.mean}


def _import_package(package, key):
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ConfigError(f"env_args.key={key!r} needs the package '{package}': pip install {package}") from None


def split_key(key):
    if not isinstance(key, str) or ":" not in key:
        raise ConfigError(f"env_args.key must be '<package>:<env name>' (e.g. lbforaging:Foraging-8x8-2p-3f-v3), "
                          f"got {key!r}")
    return key.split(":", 1)


def pettingzoo_module(package, name):
    """The PettingZoo env module ``<package>.<name>`` if there is one (with ``parallel_env``), else None."""
    try:
        module = importlib.import_module(f"{package}.{name}")
    except ImportError:
        return None
    return module if hasattr(module, "parallel_env") else None


def _offers_pettingzoo_env(package, name):
    """Whether ``<package>.<name>`` is a PettingZoo env module (named ``<env>_v<version>`` by
    PettingZoo's convention, so other submodules are not imported); a module that fails to
    import is not one."""
    if not re.fullmatch(r"\w+_v\d+", name):
        return False
    try:
        return pettingzoo_module(package, name) is not None
    except Exception:  # an optional dependency of that env missing, or any other import failure
        return False


def known_envs(package, module):
    """The env names ``package`` offers: the gymnasium ids it registers, else its PettingZoo env modules."""
    import gymnasium

    registered = sorted(env_id for env_id, spec in gymnasium.registry.items()
                        if str(spec.entry_point).split(".")[0].split(":")[0] == package)
    if registered or not hasattr(module, "__path__"):
        return registered
    return [info.name for info in pkgutil.iter_modules(module.__path__) if _offers_pettingzoo_env(package, info.name)]


def check_key(key, time_limit, pretrained_wrapper=None):
    """Before training: the package is installed and knows the env, the time limit is positive,
    and the env builds: multi-agent, discrete actions, no pretrained opponents (GymmaEnv)."""
    import gymnasium

    package, name = split_key(key)
    module = _import_package(package, key)
    if time_limit < 1:
        raise ConfigError(f"env_args.time_limit must be at least 1, got {time_limit}")
    if pettingzoo_module(package, name) is None:
        try:
            gymnasium.spec(name)
        except gymnasium.error.Error:
            known = known_envs(package, module)
            raise ConfigError(f"unknown env '{name}' in env_args.key={key!r}; {package} offers: "
                              f"{', '.join(known[:20]) or 'no env this wrapper can find'}"
                              f"{', ...' if len(known) > 20 else ''}") from None
    GymmaEnv(key, time_limit, pretrained_wrapper=pretrained_wrapper).close()  # named here, not in a worker


class _GymnasiumAgents:
    """A gymnasium env with tuple spaces, one entry per agent."""

    def __init__(self, name, time_limit):
        import gymnasium

        self.env = gymnasium.make(name, disable_env_checker=True)
        if not isinstance(self.env.action_space, gymnasium.spaces.Tuple):
            self.env.close()
            raise ConfigError(f"gymnasium env {name} is not a multi-agent env: its action space is "
                              f"{self.env.action_space}, not a tuple of one space per agent")
        self.n_agents = len(self.env.observation_space)
        self.observation_spaces, self.action_spaces = list(self.env.observation_space), list(self.env.action_space)
        self.global_state = None

    def reset(self, seed):
        obs, info = self.env.reset(seed=seed)
        return list(obs), info

    def step(self, actions):
        obs, rewards, terminated, truncated, info = self.env.step(tuple(int(a) for a in actions))
        done = all(terminated) if isinstance(terminated, (list, tuple)) else bool(terminated)
        cut = all(truncated) if isinstance(truncated, (list, tuple)) else bool(truncated)
        return list(obs), np.asarray(rewards, np.float64), done, cut, info

    def action_masks(self, info):
        """The env's masks of available actions, one row per agent, or None if it reports none."""
        masks = getattr(self.env.unwrapped, "get_action_mask", None)
        if callable(masks):
            return masks()
        return info.get("action_mask") if isinstance(info, dict) else None

    def generator(self):
        return self.env.unwrapped.np_random

    def close(self):
        self.env.close()


class _PettingZooAgents:
    """A PettingZoo parallel env (mpe2), its agents in their fixed order."""

    def __init__(self, module, time_limit):
        self.env = module.parallel_env(max_cycles=time_limit, continuous_actions=False)
        self.agents = list(self.env.possible_agents)
        self.n_agents = len(self.agents)
        self.observation_spaces = [self.env.observation_space(agent) for agent in self.agents]
        self.action_spaces = [self.env.action_space(agent) for agent in self.agents]
        self.global_state = self.env.state if self._has_state() else None

    def _has_state(self):
        """PettingZoo's ParallelEnv always has ``state()``; an env without a global state raises there."""
        self.env.reset(seed=0)
        try:
            self.env.state()
        except NotImplementedError:
            return False
        return True

    def reset(self, seed):
        obs, info = self.env.reset(seed=seed)
        return [obs[agent] for agent in self.agents], info

    def step(self, actions):
        obs, rewards, terminated, truncated, info = self.env.step(
            {agent: int(action) for agent, action in zip(self.agents, actions) if agent in self.env.agents})

        def per_agent(values, default):
            return [values.get(agent, default) for agent in self.agents]

        done = all(per_agent(terminated, True))
        cut = all(per_agent(truncated, True)) or not self.env.agents
        return per_agent(obs, None), np.asarray(per_agent(rewards, 0.0), np.float64), done, cut and not done, info

    def action_masks(self, info):
        """Each agent's ``action_mask`` from its own info, or None if no agent has one; an agent
        without one (or gone) has every action. (Masks inside dict observations, PettingZoo's
        other place for them, are not read: dict observations are refused.)"""
        masks = [agent_info.get("action_mask") if isinstance(agent_info := info.get(agent), dict) else None
                 for agent in self.agents]
        if all(mask is None for mask in masks):
            return None
        return [np.ones(space.n) if mask is None else mask for mask, space in zip(masks, self.action_spaces)]

    def generator(self):
        return self.env.unwrapped.np_random if hasattr(self.env, "unwrapped") else self.env.np_random

    def close(self):
        self.env.close()


class GymmaEnv:
    """SMAC's interface over a gymnasium or PettingZoo multi-agent env (module docstring)."""

    def __init__(self, key, time_limit=50, reward_scalarisation="sum", time_limit_terminal=False, seed=0,
                 pretrained_wrapper=None):
        if pretrained_wrapper is not None:  # EPyMARL's key for its pretrained MPE opponents
            raise ConfigError(f"env_args.pretrained_wrapper={pretrained_wrapper!r}: EPyMARL's pretrained opponents "
                              "are not supported here (only null)")
        package, name = split_key(key)
        _import_package(package, key)
        module = pettingzoo_module(package, name)
        self.agents = _PettingZooAgents(module, time_limit) if module is not None else _GymnasiumAgents(name, time_limit)
        try:
            self._check_spaces(key)
        except ConfigError:
            self.agents.close()
            raise
        self.key = key
        self.n_agents = self.agents.n_agents
        self.episode_limit = time_limit
        self.time_limit_terminal = time_limit_terminal
        self.n_actions = max(int(space.n) for space in self.agents.action_spaces)
        self.obs_size = max(int(np.prod(space.shape)) for space in self.agents.observation_spaces)
        self.scalarise = SCALARISATIONS[reward_scalarisation]
        self.seed, self.seeded = seed, False
        self._obs, self._avail, self._t = None, None, 0

    def _check_spaces(self, key):
        for space in self.agents.action_spaces:
            if not hasattr(space, "n"):
                raise ConfigError(f"env {key} has actions of type {type(space).__name__}: only discrete actions work here")
        for space in self.agents.observation_spaces:
            if space.shape is None:
                raise ConfigError(f"env {key} has observations of type {type(space).__name__}: only arrays work here")

    def _pad(self, observations):
        padded = np.zeros((self.n_agents, self.obs_size), np.float32)
        for i, obs in enumerate(observations):
            if obs is not None:
                flat = np.asarray(obs, np.float32).reshape(-1)
                padded[i, :flat.size] = flat
        return padded

    def _masks(self, info):
        avail = np.zeros((self.n_agents, self.n_actions), np.int32)
        for i, space in enumerate(self.agents.action_spaces):
            avail[i, :space.n] = 1
        masks = self.agents.action_masks(info)
        if masks is None:
            return avail
        if len(masks) != self.n_agents:
            raise ValueError(f"env {self.key} reported action masks for {len(masks)} agents, not {self.n_agents}")
        for i, (mask, space) in enumerate(zip(masks, self.agents.action_spaces)):
            mask = np.asarray(mask, np.int32).reshape(-1)[:space.n]
            if mask.any():  # an agent with no action left (PettingZoo's dead agents) keeps them all
                avail[i, :] = 0
                avail[i, :mask.size] = mask
        return avail

    def reset(self):
        observations, info = self.agents.reset(None if self.seeded else self.seed)
        self.seeded = True
        self._obs, self._avail, self._t = self._pad(observations), self._masks(info), 0
        return self.get_obs(), self.get_state()

    def step(self, actions):
        observations, rewards, done, cut, info = self.agents.step(np.asarray(actions).reshape(-1))
        self._t += 1
        self._obs, self._avail = self._pad(observations), self._masks(info)
        # An end at the time limit is a time-out even when the env calls it terminal (LBF ends its
        # episodes at its own limit, 50 steps, as game over); an earlier end is the env's to call.
        # With time_limit_terminal a time-out is terminal, so no episode is reported as cut.
        time_out = self._t >= self.episode_limit or (cut and not done)
        if done or time_out:
            return float(self.scalarise(rewards)), True, {"episode_limit": time_out and not self.time_limit_terminal}
        return float(self.scalarise(rewards)), False, {}

    def get_obs(self):
        return [self._obs[i] for i in range(self.n_agents)]

    def get_obs_agent(self, agent_id):
        return self._obs[agent_id]

    def get_state(self):
        if self.agents.global_state is not None:
            return np.asarray(self.agents.global_state(), np.float32).reshape(-1)
        return self._obs.reshape(-1)

    def get_avail_actions(self):
        return [self._avail[i] for i in range(self.n_agents)]

    def get_avail_agent_actions(self, agent_id):
        return self._avail[agent_id]

    def get_env_info(self):
        if self.agents.global_state is None:
            state_size = self.n_agents * self.obs_size
        else:
            if self._obs is None:  # PettingZoo's state() needs a reset; the first episode still starts from the seed
                self.reset()
                self.seeded = False
            state_size = int(np.asarray(self.agents.global_state()).size)
        return {"state_shape": state_size, "obs_shape": self.obs_size, "n_actions": self.n_actions,
                "n_agents": self.n_agents, "episode_limit": self.episode_limit}

    def get_stats(self):
        return {}

    def state_dict(self):
        """The env's random generator (every episode starts with a reset, so no game state)."""
        return {"rng": self.agents.generator().bit_generator.state, "seeded": self.seeded}

    def load_state_dict(self, state):
        self.seeded = state["seeded"]
        self.agents.generator().bit_generator.state = state["rng"]

    def close(self):
        self.agents.close()
