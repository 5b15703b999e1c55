"""SMAX (jaxmarl's JAX reimplementation of SMAC scenarios) behind SMAC's interface.

Two front ends share one pair of jitted functions (:class:`SMAXCore`):
- :class:`SMAXEnv`, one env with SMAC's methods, for the ``episode`` and ``parallel`` runners;
- :class:`SMAXVectorEnv`, ``n_envs`` envs stepped by one jitted, vmapped call, for the
  ``vectorized`` runner.

SMAX facts the adapter handles: the per-step reward is the enemy health lost (as a
fraction of each unit's maximum) divided by the number of enemies, plus 1.0 on a win, so
a perfect episode returns about 2; ``reward_scale`` multiplies it (10 puts it on the scale
of SMAC's normalised return of 20, for which PyMARL2's hyperparameters were tuned). A win
is "an ally alive and no enemy alive". Episodes stop at ``max_steps``: such a stop is a
time limit (``info["episode_limit"]``), not a terminal state.
"""

import contextlib
import io
import os
import sys

import numpy as np

from utils.config import ConfigError


@contextlib.contextmanager
def _quiet_import():
    """Drop what jaxmarl prints on import (a note about optional submodules), and undo its reset
    of sys.stdout and sys.stderr to sys.__stdout__/__stderr__, which would end Sacred's capture."""
    saved = sys.stdout, sys.stderr, sys.__stdout__
    sys.stdout = sys.__stdout__ = io.StringIO()
    try:
        yield
    finally:
        sys.stdout, sys.stderr, sys.__stdout__ = saved


def _import_smax():
    import jax

    with _quiet_import():
        import jaxmarl
        from jaxmarl.environments.smax import map_name_to_scenario
        from jaxmarl.environments.smax.smax_env import MAP_NAME_TO_SCENARIO

    return jax, jaxmarl, map_name_to_scenario, MAP_NAME_TO_SCENARIO


def use_compilation_cache(directory):
    """Keep JAX's compiled SMAX functions in ``directory`` (``~`` expanded; "" = no cache), so
    that later processes load them instead of compiling again (seconds per map and shape).
    The cache is JAX's own, keyed by the function, shapes and versions; deleting it is safe."""
    if directory:
        import jax

        jax.config.update("jax_compilation_cache_dir", os.path.expanduser(directory))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def known_maps():
    return sorted(_import_smax()[3])


class SMAXCore:
    """The jitted reset and step of one SMAX scenario, returning flat arrays.

    ``reset(key) -> (env_state, obs [A, obs], state [S], avail [A, U])``
    ``step(key, env_state, actions [A]) -> (env_state, obs, state, avail, reward, done, won, time_limit)``
    """

    def __init__(self, map_name, max_steps, reward_scale, won_battle_bonus, normalize_state):
        jax, jaxmarl, map_name_to_scenario, scenarios = _import_smax()
        if map_name not in scenarios:
            raise ConfigError(
                f"unknown SMAX map '{map_name}' (env_args.map_name); known maps: {', '.join(sorted(scenarios))}"
            )
        self.map_name = map_name
        self.env = jaxmarl.make(
            "HeuristicEnemySMAX",
            scenario=map_name_to_scenario(map_name),
            max_steps=max_steps,
            won_battle_bonus=won_battle_bonus,
        )
        self.n_agents = self.env.num_agents
        self.n_enemies = self.env.num_enemies
        self.n_actions = self.env.num_ally_actions
        self.episode_limit = max_steps
        self.reward_scale = reward_scale
        self.agent_names = list(self.env.agents)
        self.obs_shape = int(self.env.observation_spaces[self.agent_names[0]].shape[0])
        self.state_shape = int(self.env.state_size)
        self.normalize_state = normalize_state
        self.reset = jax.jit(self._reset)
        self.step = jax.jit(self._step)
        self.jax = jax

    def _observe(self, obs_dict, env_state):
        jnp = self.jax.numpy
        obs = jnp.stack([obs_dict[name] for name in self.agent_names])
        avail_dict = self.env.get_avail_actions(env_state)
        avail = jnp.stack([avail_dict[name] for name in self.agent_names])
        state = obs_dict["world_state"]
        if self.normalize_state:
            state = self._normalized_state(state)
        return obs, state, avail

    def _normalized_state(self, world_state):
        """SMAX's world state with every feature in [0, 1], as SMAC's state is normalised.

        SMAX gives, per unit, [health fraction, x, y, weapon cooldown (s), unit-type one-hot],
        then every unit's team and unit-type id. Positions are divided by the map size,
        cooldowns by the longest cooldown of any unit type (and clipped at 0: SMAX lets a
        cooldown run below 0 while a unit does not attack), type ids by the number of types.
        """
        jnp = self.jax.numpy
        env = self.env
        n_units, n_features = env.num_allies + env.num_enemies, len(env.own_features)
        units = world_state[: n_units * n_features].reshape(n_units, n_features)
        scale = jnp.ones(n_features)
        scale = scale.at[1].set(env.map_width).at[2].set(env.map_height)
        scale = scale.at[3].set(jnp.max(env.unit_type_weapon_cooldowns))
        teams = world_state[n_units * n_features: n_units * (n_features + 1)]
        types = world_state[n_units * (n_features + 1):] / len(env.unit_type_names)
        return jnp.concatenate([jnp.clip(units / scale, 0.0, 1.0).reshape(-1), teams, types])

    def _reset(self, key):
        obs_dict, env_state = self.env.reset(key)
        obs, state, avail = self._observe(obs_dict, env_state)
        return env_state, obs, state, avail

    def _step(self, key, env_state, actions):
        jnp = self.jax.numpy
        action_dict = {name: actions[i] for i, name in enumerate(self.agent_names)}
        obs_dict, env_state, rewards, dones, _ = self.env.step_env(key, env_state, action_dict)
        obs, state, avail = self._observe(obs_dict, env_state)
        alive = env_state.state.unit_alive
        allies_alive = jnp.any(alive[: self.n_agents])
        enemies_alive = jnp.any(alive[self.n_agents:])
        won = allies_alive & ~enemies_alive
        # SMAX tests its time limit before counting the step, so it would allow one step
        # more than max_steps; the adapter ends the episode at exactly max_steps instead.
        out_of_time = env_state.state.step >= self.episode_limit
        done = dones["__all__"] | out_of_time
        time_limit = done & allies_alive & enemies_alive
        reward = rewards[self.agent_names[0]] * self.reward_scale
        return env_state, obs, state, avail, reward, done, won, time_limit

    def env_info(self):
        return {
            "n_agents": self.n_agents,
            "n_actions": self.n_actions,
            "state_shape": self.state_shape,
            "obs_shape": self.obs_shape,
            "episode_limit": self.episode_limit,
        }


class SMAXEnv:
    """One SMAX env with SMAC's ``StarCraft2Env`` interface.

    Every argument but ``seed`` is one of smax.yaml's ``env_args`` (documented there), with no
    default here: callers pass the config's (``envs.REGISTRY["smax"](**env_args, seed=...)``)."""

    def __init__(self, *, map_name, max_steps, reward_scale, won_battle_bonus, normalize_state, jax_cache_dir, seed):
        use_compilation_cache(jax_cache_dir)
        self.core = SMAXCore(map_name, max_steps, reward_scale, won_battle_bonus, normalize_state)
        self.n_agents = self.core.n_agents
        self.episode_limit = self.core.episode_limit
        self._key = self.core.jax.random.PRNGKey(0 if seed is None else seed)
        self._env_state = None
        self._obs = self._state = self._avail = None
        self._battles_game = self._battles_won = self._timeouts = 0

    def _next_key(self):
        self._key, key = self.core.jax.random.split(self._key)
        return key

    def reset(self):
        self._env_state, obs, state, avail = self.core.reset(self._next_key())
        self._obs, self._state, self._avail = np.array(obs), np.array(state), np.array(avail)
        return self.get_obs(), self.get_state()

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.int32)
        out = self.core.step(self._next_key(), self._env_state, actions)
        self._env_state, obs, state, avail, reward, done, won, time_limit = out
        self._obs, self._state, self._avail = np.array(obs), np.array(state), np.array(avail)
        done, won, time_limit = bool(done), bool(won), bool(time_limit)
        info = {}
        if done:
            self._battles_game += 1
            self._battles_won += int(won)
            self._timeouts += int(time_limit)
            info = {"battle_won": won, "episode_limit": time_limit}
        return float(reward), done, info

    def get_obs(self):
        return [self._obs[i] for i in range(self.n_agents)]

    def get_obs_agent(self, agent_id):
        return self._obs[agent_id]

    def get_state(self):
        return self._state

    def get_avail_actions(self):
        return [self._avail[i] for i in range(self.n_agents)]

    def get_avail_agent_actions(self, agent_id):
        return self._avail[agent_id]

    def get_env_info(self):
        return self.core.env_info()

    def get_stats(self):
        games = max(self._battles_game, 1)
        return {
            "battles_won": self._battles_won,
            "battles_game": self._battles_game,
            "win_rate": self._battles_won / games,
            "timeouts": self._timeouts,
        }

    def state_dict(self):
        """The PRNG key and battle counters (every episode starts with a reset, so no game state)."""
        return {"key": np.asarray(self._key), "battles": [self._battles_game, self._battles_won, self._timeouts]}

    def load_state_dict(self, state):
        self._key = self.core.jax.numpy.asarray(state["key"])
        self._battles_game, self._battles_won, self._timeouts = state["battles"]

    def close(self):
        pass


class SMAXVectorEnv:
    """``n_envs`` SMAX envs stepped together by one jitted, vmapped call.

    ``reset()`` and ``step(actions [n, A])`` return numpy arrays with a leading env axis.
    Envs whose episode has ended keep being stepped by the vmapped call (cheaper than
    gathering the live ones); callers ignore their outputs. :meth:`reset_all` and
    :meth:`step_all` are the pure functions behind them (carried PRNG key in, next key out),
    for callers that compose them into jitted code of their own (whole-episode collection).
    The keyword arguments are smax.yaml's ``env_args``, with no default here (as :class:`SMAXEnv`).
    """

    def __init__(self, n_envs, seed, *, map_name, max_steps, reward_scale, won_battle_bonus, normalize_state,
                 jax_cache_dir):
        use_compilation_cache(jax_cache_dir)
        self.core = SMAXCore(map_name, max_steps, reward_scale, won_battle_bonus, normalize_state)
        jax = self.core.jax
        self.n_envs = n_envs
        self._jax = jax
        self.key = jax.random.PRNGKey(0 if seed is None else seed)
        # Key splitting happens inside the jitted calls: as separate JAX calls it cost about
        # as much as a third of the vmapped step itself.
        self._reset = jax.jit(self.reset_all)
        self._step = jax.jit(self.step_all)
        self._env_state = None

    def _split_per_env(self, key):
        """The next carried key, and one key per env."""
        key, per_env = self._jax.random.split(key)
        return key, self._jax.random.split(per_env, self.n_envs)

    def reset_all(self, key):
        """``key -> (next key, env_state, obs, state, avail)`` for all envs."""
        key, env_keys = self._split_per_env(key)
        return (key, *self._jax.vmap(self.core._reset)(env_keys))

    def step_all(self, key, env_state, actions):
        """``(key, env_state, actions [n, A]) -> (next key, env_state, obs, state, avail, reward,
        done, won, time_limit)`` for all envs."""
        key, env_keys = self._split_per_env(key)
        return (key, *self._jax.vmap(self.core._step)(env_keys, env_state, actions))

    def reset(self):
        self.key, self._env_state, obs, state, avail = self._reset(self.key)
        return np.array(obs), np.array(state), np.array(avail)

    def step(self, actions):
        out = self._step(self.key, self._env_state, np.asarray(actions, dtype=np.int32))
        self.key, self._env_state = out[0], out[1]
        return tuple(np.array(x) for x in out[2:])  # writable copies

    def get_env_info(self):
        return self.core.env_info()

    def state_dict(self):
        """The PRNG key (every episode starts with a reset, so no game state)."""
        return {"key": np.asarray(self.key)}

    def load_state_dict(self, state):
        self.key = self._jax.numpy.asarray(state["key"])

    def close(self):
        pass
