"""Whole episodes in one jitted JAX call: the ``vectorized`` runner's collection on SMAX.

Stepping the torch agent from Python costs far more than the vmapped env step it drives.
Here the acting policy, PyMARL2's ``n_rnn`` agent (or ``rnn_ns``, its layers per agent) under
``n_mac`` (each agent's observation, previous action and id -> fc1 -> ReLU -> GRU cell, or
``use_rnn: False``'s linear layer and ReLU -> fc2) with epsilon-greedy selection over the
available actions, is written again in JAX and runs together with the vmapped envs in
one ``lax.while_loop`` until every episode has ended. The torch agent's current weights are
handed over at each call. The torch path (:meth:`EpisodeRunner.run`) stays the reference:
with the same weights and env keys both pick the same greedy actions (tests). Exploration
draws from a JAX key of its own, which the runner saves with its state.
"""

import numpy as np

from components.action_selectors import EpsilonGreedyActionSelector
from controllers.n_controller import NMAC
from modules.agents.rnn_agent import RNNAgent
from modules.agents.rnn_ns_agent import NonSharedRNNAgent


def supports(mac):
    """Whether ``mac`` acts with the policy written in JAX here; others collect with the torch path."""
    return (isinstance(mac, NMAC) and type(mac.agent) in (RNNAgent, NonSharedRNNAgent)
            and type(mac.action_selector) is EpsilonGreedyActionSelector)


def agent_params(agent):
    """The torch agent's weights as numpy arrays, by PyMARL2 parameter name."""
    return {name: value.detach().cpu().numpy() for name, value in agent.state_dict().items()}


class EpisodeRollout:
    """Collects one episode in each env of a :class:`~envs.smax.SMAXVectorEnv` per call."""

    def __init__(self, vector_env, obs_last_action, obs_agent_id, seed):
        import jax

        self.jax = jax
        self.vector_env = vector_env
        info = vector_env.get_env_info()
        self.n_envs, self.n_agents, self.n_actions = vector_env.n_envs, info["n_agents"], info["n_actions"]
        self.episode_limit = info["episode_limit"]
        self.obs_last_action, self.obs_agent_id = obs_last_action, obs_agent_id
        # A key of its own for exploration, distinct from the envs' (seeded with the same seed).
        self.key = jax.random.fold_in(jax.random.PRNGKey(0 if seed is None else seed), 1)
        self._episodes = jax.jit(self._collect)

    def run(self, agent, epsilon):
        """One episode per env with ``agent``'s weights; returns numpy arrays, time first:
        ``obs, state, avail_actions, filled [T + 1, n, ...]``, ``actions, actions_onehot,
        reward, terminated [T, n, ...]``, and per env ``won``, ``time_limit``."""
        out = self._episodes(self.vector_env.key, self.key, agent_params(agent), np.float32(epsilon))
        self.vector_env.key, self.key, episodes = out
        return {name: np.asarray(value) for name, value in episodes.items()}

    def state_dict(self):
        return {"key": np.asarray(self.key)}

    def load_state_dict(self, state):
        self.key = self.jax.numpy.asarray(state["key"])

    # --- inside the jitted call ---------------------------------------------------------
    def _layer(self, inputs, weight, bias):
        """``inputs [envs * agents, in]`` through a layer shared by the agents (weight ``[out, in]``)
        or one per agent (``[agents, out, in]``; rows agent index fastest)."""
        if weight.ndim == 2:
            return inputs @ weight.T + bias
        rows = inputs.reshape(self.n_envs, self.n_agents, -1)
        return (self.jax.numpy.einsum("eai,aoi->eao", rows, weight) + bias).reshape(inputs.shape[0], -1)

    def _agent_step(self, params, inputs, hidden):
        """torch's ``RNNAgent.forward``: fc1 and ReLU, the middle layer, fc2. The middle layer is
        the GRU cell, or with ``use_rnn: False`` (an ``rnn.weight``, no ``rnn.weight_ih``) a
        linear layer and ReLU."""
        nn = self.jax.nn
        x = nn.relu(self._layer(inputs, params["fc1.weight"], params["fc1.bias"]))
        if "rnn.weight" in params:
            hidden = nn.relu(self._layer(x, params["rnn.weight"], params["rnn.bias"]))
        else:
            hidden = self._gru_cell(params, x, hidden)
        return self._layer(hidden, params["fc2.weight"], params["fc2.bias"]), hidden

    def _gru_cell(self, params, x, hidden):
        """torch's ``GRUCell`` with PyTorch's gate order (reset, update, new)."""
        jnp, nn = self.jax.numpy, self.jax.nn
        gates_x = self._layer(x, params["rnn.weight_ih"], params["rnn.bias_ih"])
        gates_h = self._layer(hidden, params["rnn.weight_hh"], params["rnn.bias_hh"])
        x_r, x_z, x_n = jnp.split(gates_x, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(gates_h, 3, axis=-1)
        reset = nn.sigmoid(x_r + h_r)
        update = nn.sigmoid(x_z + h_z)
        new = jnp.tanh(x_n + reset * h_n)
        return (1.0 - update) * new + update * hidden

    def _agent_inputs(self, obs, previous_onehot):
        jnp = self.jax.numpy
        parts = [obs]
        if self.obs_last_action:
            parts.append(previous_onehot)
        if self.obs_agent_id:
            parts.append(jnp.broadcast_to(jnp.eye(self.n_agents), (self.n_envs, self.n_agents, self.n_agents)))
        return jnp.concatenate(parts, axis=-1).reshape(self.n_envs * self.n_agents, -1)

    def _select(self, key, qs, avail, epsilon):
        """Epsilon-greedy over the available actions, as ``EpsilonGreedyActionSelector``."""
        jax, jnp = self.jax, self.jax.numpy
        available = avail > 0
        greedy = jnp.argmax(jnp.where(available, qs, -jnp.inf), axis=-1)
        explore_key, action_key = jax.random.split(key)
        random_actions = jax.random.categorical(action_key, jnp.where(available, 0.0, -jnp.inf))
        explore = jax.random.uniform(explore_key, greedy.shape) < epsilon
        return jnp.where(explore, random_actions, greedy).astype(jnp.int32)

    def _collect(self, env_key, policy_key, params, epsilon):
        jax, jnp = self.jax, self.jax.numpy
        n, limit = self.n_envs, self.episode_limit
        env_key, env_state, obs, state, avail = self.vector_env.reset_all(env_key)

        def slots(first, length):
            return jnp.zeros((length, *first.shape), first.dtype).at[0].set(first)

        episodes = {
            "obs": slots(obs, limit + 1), "state": slots(state, limit + 1), "avail_actions": slots(avail, limit + 1),
            "filled": slots(jnp.ones(n, bool), limit + 1),
            "actions": jnp.zeros((limit, n, self.n_agents), jnp.int32),
            "actions_onehot": jnp.zeros((limit, n, self.n_agents, self.n_actions), jnp.float32),
            "reward": jnp.zeros((limit, n), jnp.float32), "terminated": jnp.zeros((limit, n), bool),
            "won": jnp.zeros(n, bool), "time_limit": jnp.zeros(n, bool),
        }
        hidden = jnp.zeros((n * self.n_agents, params["fc1.bias"].shape[-1]), jnp.float32)
        previous = jnp.zeros((n, self.n_agents, self.n_actions), jnp.float32)
        carry = (0, env_key, policy_key, env_state, obs, avail, hidden, previous, jnp.ones(n, bool), episodes)

        def still_running(carry):
            t, active = carry[0], carry[8]
            return (t < limit) & active.any()

        def step(carry):
            t, env_key, policy_key, env_state, obs, avail, hidden, previous, active, episodes = carry
            policy_key, select_key = jax.random.split(policy_key)
            qs, hidden = self._agent_step(params, self._agent_inputs(obs, previous), hidden)
            actions = self._select(select_key, qs.reshape(n, self.n_agents, -1), avail, epsilon)
            env_key, env_state, obs, state, avail, reward, done, won, time_limit = self.vector_env.step_all(
                env_key, env_state, actions)
            onehot = jax.nn.one_hot(actions, self.n_actions, dtype=jnp.float32)
            ended = active & done
            live = active[:, None]
            e = dict(episodes)
            e["actions"] = e["actions"].at[t].set(jnp.where(live, actions, 0))
            e["actions_onehot"] = e["actions_onehot"].at[t].set(jnp.where(live[..., None], onehot, 0.0))
            e["reward"] = e["reward"].at[t].set(jnp.where(active, reward, 0.0))
            e["terminated"] = e["terminated"].at[t].set(ended & ~time_limit)
            e["obs"] = e["obs"].at[t + 1].set(jnp.where(live[..., None], obs, 0.0))
            e["state"] = e["state"].at[t + 1].set(jnp.where(live, state, 0.0))
            e["avail_actions"] = e["avail_actions"].at[t + 1].set(jnp.where(live[..., None], avail, 0))
            e["filled"] = e["filled"].at[t + 1].set(active)
            e["won"] = jnp.where(ended, won, e["won"])
            e["time_limit"] = jnp.where(ended, time_limit, e["time_limit"])
            return (t + 1, env_key, policy_key, env_state, obs, avail, hidden, onehot, active & ~done, e)

        carry = jax.lax.while_loop(still_running, step, carry)
        return carry[1], carry[2], carry[9]
