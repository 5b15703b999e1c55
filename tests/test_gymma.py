"""EPyMARL's gymma env (issue 18, item 1): LBF, RWARE and MPE behind SMAC's interface, real runs
with the episode and parallel runners and with MAST, and one line for each bad key."""

import sys

import gymnasium
import numpy as np
import pytest

from cli_runs import output_of, run_main
from envs.gymma import GymmaEnv, check_key
from runner_setup import collect
from utils.config import ConfigError, layered_config, to_namespace

KEYS = {  # key: (time limit, n_agents, obs size, n_actions, state size)
    "lbforaging:Foraging-8x8-2p-3f-v3": (50, 2, 15, 6, 30),
    "rware:rware-tiny-2ag-v2": (500, 2, 71, 5, 142),
    "mpe2:simple_spread_v3": (25, 3, 18, 5, 54),
}


@pytest.mark.parametrize("key", KEYS)
def test_an_episode_follows_smac_interface_and_ends_at_the_time_limit(key):
    time_limit, n_agents, obs_size, n_actions, state_size = KEYS[key]
    env = GymmaEnv(key, time_limit=time_limit, seed=1)
    assert env.get_env_info() == {"state_shape": state_size, "obs_shape": obs_size, "n_actions": n_actions,
                                  "n_agents": n_agents, "episode_limit": time_limit}
    obs, state = env.reset()
    assert len(obs) == n_agents and all(o.shape == (obs_size,) for o in obs) and state.shape == (state_size,)
    assert np.array_equal(np.stack(env.get_avail_actions()), np.ones((n_agents, n_actions)))
    rng = np.random.default_rng(0)
    for step in range(1, time_limit + 1):
        reward, done, info = env.step(rng.integers(n_actions, size=n_agents))
        assert isinstance(reward, float)
        if done:
            break
    assert done and (info == {"episode_limit": True}) == (step == time_limit)


@pytest.mark.parametrize("time_limit_terminal", [False, True])
def test_an_end_at_the_time_limit_is_stored_as_terminal_only_when_asked(time_limit_terminal):
    """EPyMARL's runner stores a time-limit end as terminal; here that is env_args.time_limit_terminal."""
    config = layered_config("qmix", "gymma")
    config.update(runner="episode", batch_size_run=1, seed=2)
    config["env_args"].update(key="mpe2:simple_spread_v3", time_limit=6, time_limit_terminal=time_limit_terminal)
    args = to_namespace(config)
    args.device = "cpu"
    terminated = collect(args)[0]["terminated"][0, :6, 0].tolist()
    assert terminated == [0, 0, 0, 0, 0, int(time_limit_terminal)]


def test_the_team_reward_is_the_sum_or_the_mean_of_the_agents():
    rewards = {}
    for scalarisation in ("sum", "mean"):
        env = GymmaEnv("mpe2:simple_spread_v3", time_limit=25, reward_scalarisation=scalarisation, seed=3)
        env.reset()
        rewards[scalarisation] = env.step([0, 1, 2])[0]
    assert rewards["sum"] == pytest.approx(3 * rewards["mean"])


def test_a_resumed_env_draws_the_same_next_episode():
    env = GymmaEnv("rware:rware-tiny-2ag-v2", time_limit=500, seed=5)
    env.reset()
    saved = env.state_dict()
    first = env.reset()[1]
    env.load_state_dict(saved)
    assert np.array_equal(env.reset()[1], first)


class ContinuousPair(gymnasium.Env):
    """Two agents with continuous actions, for the error below."""
    observation_space = gymnasium.spaces.Tuple([gymnasium.spaces.Box(-1, 1, (2,))] * 2)
    action_space = gymnasium.spaces.Tuple([gymnasium.spaces.Box(-1, 1, (1,))] * 2)


gymnasium.register(id="MastTestContinuousPair-v0", entry_point=ContinuousPair)


@pytest.mark.parametrize("key, message", [
    ("lbforaging:Foraging-9x9-9p-v3", "unknown env 'Foraging-9x9-9p-v3' in env_args.key='lbforaging:Foraging-9x9-9p-v3'; "
                                       "lbforaging offers: Foraging-"),
    ("mpe2:simple_sprd_v3", "unknown env 'simple_sprd_v3' in env_args.key='mpe2:simple_sprd_v3'; mpe2 offers: "
                            "collect_treasure_v1, simple_adversary_v3, "),
    ("gymnasium:MastTestContinuousPair-v0", "env gymnasium:MastTestContinuousPair-v0 has actions of type Box: only "
                                            "discrete actions work here"),
    ("gymnasium:CartPole-v1", "gymnasium env CartPole-v1 is not a multi-agent env"),
    ("smacv9:3m", "env_args.key='smacv9:3m' needs the package 'smacv9': pip install smacv9"),
    ("Foraging-8x8-2p-3f-v3", "env_args.key must be '<package>:<env name>'"),
])
def test_bad_keys_are_named(key, message):
    with pytest.raises(ConfigError) as error:
        check_key(key, 50)
    assert str(error.value).startswith(message)


def test_epymarls_pretrained_opponents_are_refused_and_null_accepted():
    check_key("mpe2:simple_spread_v3", 25, None)
    with pytest.raises(ConfigError) as error:
        GymmaEnv("mpe2:simple_tag_v3", 25, pretrained_wrapper="PretrainedTag")
    assert str(error.value) == ("env_args.pretrained_wrapper='PretrainedTag': EPyMARL's pretrained opponents are not "
                                "supported here (only null)")


class DictObservations(gymnasium.Env):
    """Two agents whose observations are dicts, for the error below."""
    observation_space = gymnasium.spaces.Tuple([gymnasium.spaces.Dict({"x": gymnasium.spaces.Discrete(2)})] * 2)
    action_space = gymnasium.spaces.Tuple([gymnasium.spaces.Discrete(2)] * 2)


gymnasium.register(id="MastTestDictObservations-v0", entry_point=DictObservations)


def test_an_env_with_dict_observations_is_named():
    with pytest.raises(ConfigError) as error:
        check_key("gymnasium:MastTestDictObservations-v0", 10)
    assert str(error.value) == ("env gymnasium:MastTestDictObservations-v0 has observations of type Dict: only "
                                "arrays work here")


class MaskedPair:
    """A PettingZoo-style parallel env of two agents (3 and 2 actions) whose infos carry each
    agent's action mask; its step infos are set by the test."""
    possible_agents = agents = ["first", "second"]
    masks = {"first": np.array([1, 0, 1], np.int8), "second": np.array([0, 1, 0], np.int8)}
    step_info = {}

    def __init__(self, max_cycles, continuous_actions):
        self.np_random = np.random.default_rng(0)

    def observation_space(self, agent):
        return gymnasium.spaces.Box(-1, 1, (2,))

    def action_space(self, agent):
        return gymnasium.spaces.Discrete(3 if agent == "first" else 2)

    def reset(self, seed=None):
        return {agent: np.zeros(2) for agent in self.agents}, {"first": {"action_mask": self.masks["first"]}}

    def step(self, actions):
        obs, rewards = {agent: np.zeros(2) for agent in self.agents}, {agent: 1.0 for agent in self.agents}
        flags = {agent: False for agent in self.agents}
        return obs, rewards, flags, flags, self.step_info

    def state(self):
        raise NotImplementedError

    def close(self):
        pass


def test_pettingzoo_masks_are_read_from_each_agents_info(monkeypatch):
    module = type(sys)("mastfakepz.masked_v0")
    module.parallel_env = MaskedPair
    monkeypatch.setitem(sys.modules, "mastfakepz", type(sys)("mastfakepz"))
    monkeypatch.setitem(sys.modules, "mastfakepz.masked_v0", module)
    env = GymmaEnv("mastfakepz:masked_v0", time_limit=5)
    env.reset()
    assert [list(row) for row in env.get_avail_actions()] == [[1, 0, 1], [1, 1, 0]]  # the second reports none yet
    for step_info, expected in [
        ({agent: {"action_mask": MaskedPair.masks[agent]} for agent in MaskedPair.agents}, [[1, 0, 1], [0, 1, 0]]),
        ({"first": None, "second": {"action_mask": np.array([0, 1, 1, 1])}}, [[1, 1, 1], [0, 1, 0]]),  # too wide
        ({"first": {"action_mask": np.zeros(3)}, "second": {}}, [[1, 1, 1], [1, 1, 0]]),  # none left: all kept
        ({}, [[1, 1, 1], [1, 1, 0]]),
    ]:
        monkeypatch.setattr(MaskedPair, "step_info", step_info)
        env.step([0, 1])
        assert [list(row) for row in env.get_avail_actions()] == expected, step_info


@pytest.mark.slow
def test_a_single_agent_env_is_one_line_before_the_parallel_workers_start(tmp_path):
    result = run_main(str(tmp_path), "runner=parallel", "env_args.key=gymnasium:CartPole-v1", env="gymma")
    assert result.returncode == 2, output_of(result)[-3000:]
    assert "gymnasium env CartPole-v1 is not a multi-agent env" in output_of(result)
    assert "Traceback" not in output_of(result) and "worker" not in output_of(result)


TINY_GYMMA = ["t_max=600", "test_interval=300", "log_interval=300", "runner_log_interval=300",
              "learner_log_interval=300", "test_nepisode=4"]


@pytest.mark.slow
@pytest.mark.parametrize("config, extra", [
    ("qmix", ["runner=episode", "env_args.key=lbforaging:Foraging-8x8-2p-3f-v3", "env_args.time_limit=50"]),
    ("qmix", ["runner=parallel", "env_args.key=rware:rware-tiny-2ag-v2", "env_args.time_limit=100"]),
    ("mast_qmix", ["runner=episode", "env_args.key=mpe2:simple_spread_v3", "env_args.time_limit=25"]),
    # every other MAST and sparse config, unchanged
    ("mast_vdn", ["env_args.key=lbforaging:Foraging-8x8-2p-3f-v3", "env_args.time_limit=50"]),
    ("mast_ow_qmix", ["env_args.key=lbforaging:Foraging-8x8-2p-3f-v3", "env_args.time_limit=50"]),
    ("mast_cw_qmix", ["env_args.key=mpe2:simple_spread_v3", "env_args.time_limit=25"]),
    ("mast_res_qmix", ["env_args.key=mpe2:simple_spread_v3", "env_args.time_limit=25"]),
    ("rigl_qmix", ["env_args.key=rware:rware-tiny-2ag-v2", "env_args.time_limit=100"]),
    ("set_qmix", ["env_args.key=lbforaging:Foraging-8x8-2p-3f-v3", "env_args.time_limit=50"]),
    ("static_qmix", ["env_args.key=mpe2:simple_spread_v3", "env_args.time_limit=25"]),
])
def test_runs_train_on_gymma_envs(tmp_path, config, extra):
    result = run_main(str(tmp_path), *TINY_GYMMA, *extra, "name=gymma", env="gymma", config=config)
    assert result.returncode == 0, output_of(result)[-3000:]
    assert "test_return_mean" in result.stdout


@pytest.mark.slow
def test_the_vectorized_runner_stays_smax_only(tmp_path):
    result = run_main(str(tmp_path), "runner=vectorized", env="gymma")
    assert result.returncode == 2
    assert "error: runner 'vectorized' needs an env with a vectorised form (smax), not 'gymma'" in output_of(result)
