"""Ways to step ``batch_size_run`` envs together, behind one interface.

``reset() -> (obs [n, A, obs], state [n, S], avail [n, A, U])``
``step(actions [n, A], active [n]) -> (reward [n], done [n], infos, obs, state, avail)``
where ``infos[i]`` is env i's info dict (non-empty when its episode ended). Outputs of
inactive envs (whose episode already ended) are meaningless and ignored by callers.
"""

import multiprocessing
import signal
import traceback

import numpy as np

from envs import REGISTRY as ENV_REGISTRY
from envs import VECTOR_ENVS


def _observe(env):
    return np.stack(env.get_obs()), np.asarray(env.get_state()), np.stack(env.get_avail_actions())


def _stack_observations(observations):
    obs, state, avail = zip(*observations)
    return np.stack(obs), np.stack(state), np.stack(avail)


def _env_state(env):
    """An env's resumable state (its PRNG key, ...). SMAC's StarCraft2Env keeps its randomness
    inside the game process, where it cannot be saved, so such an env contributes None."""
    return env.state_dict() if hasattr(env, "state_dict") else None


def _load_env_state(env, state):
    if state is not None:
        env.load_state_dict(state)


def _check_env_count(saved_n_envs, n_envs):
    if saved_n_envs != n_envs:
        raise ValueError(f"it holds the state of {saved_n_envs} envs, this run steps {n_envs} (batch_size_run)")


class InProcessEnvs:
    """Envs stepped one after another in this process (the ``episode`` runner)."""

    def __init__(self, env_name, env_args, n_envs, seed):
        self.envs = [ENV_REGISTRY[env_name](**env_args, seed=seed + i) for i in range(n_envs)]
        self.env_info = self.envs[0].get_env_info()

    def reset(self):
        for env in self.envs:
            env.reset()
        return _stack_observations([_observe(env) for env in self.envs])

    def step(self, actions, active):
        n = len(self.envs)
        reward, done, infos = np.zeros(n, np.float32), np.ones(n, bool), [{} for _ in range(n)]
        observations = []
        for i, env in enumerate(self.envs):
            if active[i]:
                reward[i], done[i], infos[i] = env.step(actions[i])
            observations.append(_observe(env))
        return (reward, done, infos, *_stack_observations(observations))

    def state_dict(self):
        """Each env's resumable state, in env order."""
        return [_env_state(env) for env in self.envs]

    def load_state_dict(self, states):
        _check_env_count(len(states), len(self.envs))
        for env, state in zip(self.envs, states):
            _load_env_state(env, state)

    def close(self):
        for env in self.envs:
            env.close()


def _worker(remote, env_name, env_args):
    """A subprocess holding one env, answering commands from :class:`SubprocessEnvs`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    try:
        env = ENV_REGISTRY[env_name](**env_args)
        while True:
            command, data = remote.recv()
            if command == "reset":
                env.reset()
                remote.send(("ok", _observe(env)))
            elif command == "step":
                reward, done, info = env.step(data)
                remote.send(("ok", (reward, done, info, _observe(env))))
            elif command == "get_env_info":
                remote.send(("ok", env.get_env_info()))
            elif command == "state_dict":
                remote.send(("ok", _env_state(env)))
            elif command == "load_state_dict":
                _load_env_state(env, data)
                remote.send(("ok", None))
            elif command == "close":
                env.close()
                remote.close()
                return
    except (EOFError, KeyboardInterrupt):
        return
    except Exception:  # report any failure to the parent, which raises it with the worker's id
        remote.send(("error", traceback.format_exc()))


class WorkerError(RuntimeError):
    """A parallel-runner worker died or raised."""


class SubprocessEnvs:
    """One process per env (the ``parallel`` runner); env i is seeded ``seed + i``.

    A worker that dies or raises is reported as a :class:`WorkerError` naming it; the
    parent never waits on a dead worker for more than ``timeout`` seconds.
    """

    def __init__(self, env_name, env_args, n_envs, seed, timeout):
        context = multiprocessing.get_context("spawn")  # JAX is multithreaded: never fork it
        self.timeout = timeout
        self.remotes, self.processes = [], []
        for i in range(n_envs):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_worker, args=(child_end, env_name, {**env_args, "seed": seed + i}), daemon=True
            )
            process.start()
            child_end.close()
            self.remotes.append(parent_end)
            self.processes.append(process)
        self.env_info = self._call(0, "get_env_info", None, startup=True)

    def _receive(self, i, startup=False):
        remote, process = self.remotes[i], self.processes[i]
        waited, limit = 0.0, self.timeout * (5 if startup else 1)
        while not remote.poll(1.0):
            waited += 1.0
            if not process.is_alive():
                raise WorkerError(f"parallel runner worker {i} died (exit code {process.exitcode})")
            if waited >= limit:
                raise WorkerError(f"parallel runner worker {i} gave no answer within {limit:.0f} s")
        try:
            status, payload = remote.recv()
        except EOFError:
            raise WorkerError(f"parallel runner worker {i} died (exit code {process.exitcode})") from None
        if status == "error":
            raise WorkerError(f"parallel runner worker {i} raised:\n{payload}")
        return payload

    def _send(self, i, command, data=None):
        try:
            self.remotes[i].send((command, data))
        except (BrokenPipeError, OSError):
            raise WorkerError(f"parallel runner worker {i} died (exit code {self.processes[i].exitcode})") from None

    def _call(self, i, command, data, startup=False):
        self._send(i, command, data)
        return self._receive(i, startup)

    def reset(self):
        for i in range(len(self.remotes)):
            self._send(i, "reset")
        self._observations = [self._receive(i) for i in range(len(self.remotes))]
        return _stack_observations(self._observations)

    def step(self, actions, active):
        n = len(self.remotes)
        for i in np.flatnonzero(active):
            self._send(i, "step", actions[i])
        reward, done, infos = np.zeros(n, np.float32), np.ones(n, bool), [{} for _ in range(n)]
        for i in np.flatnonzero(active):
            reward[i], done[i], infos[i], self._observations[i] = self._receive(i)
        return (reward, done, infos, *_stack_observations(self._observations))

    def state_dict(self):
        """Each worker env's resumable state, in env order."""
        return [self._call(i, "state_dict", None) for i in range(len(self.remotes))]

    def load_state_dict(self, states):
        _check_env_count(len(states), len(self.remotes))
        for i, state in enumerate(states):
            self._call(i, "load_state_dict", state)

    def close(self):
        for remote, process in zip(self.remotes, self.processes):
            if process.is_alive():
                try:
                    remote.send(("close", None))
                except (BrokenPipeError, OSError):
                    pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()  # SIGKILL also ends a worker that hangs or is stopped (SIGSTOP ignores SIGTERM)
                process.join(timeout=5)


class VectorizedEnvs:
    """All envs in one jitted, vmapped call (the ``vectorized`` runner; envs with a vector form)."""

    def __init__(self, env_name, env_args, n_envs, seed):
        if env_name not in VECTOR_ENVS:
            raise ValueError(
                f"runner 'vectorized' needs an env with a vectorised form ({', '.join(VECTOR_ENVS)}), "
                f"not '{env_name}'; use runner=parallel or runner=episode"
            )
        self.vector_env = VECTOR_ENVS[env_name](n_envs, seed, **env_args)
        self.env_info = self.vector_env.get_env_info()
        self.n_envs = n_envs

    def reset(self):
        return self.vector_env.reset()

    def step(self, actions, active):
        obs, state, avail, reward, done, won, time_limit = self.vector_env.step(actions)
        infos = [{} for _ in range(self.n_envs)]
        for i in np.flatnonzero(active & done):
            infos[i] = {"battle_won": bool(won[i]), "episode_limit": bool(time_limit[i])}
        return reward.astype(np.float32), done.astype(bool), infos, obs, state, avail

    def state_dict(self):
        """The vector env's PRNG key, and the number of envs it steps."""
        return {"vector_env": self.vector_env.state_dict(), "n_envs": self.n_envs}

    def load_state_dict(self, state):
        _check_env_count(state["n_envs"], self.n_envs)
        self.vector_env.load_state_dict(state["vector_env"])

    def close(self):
        self.vector_env.close()
