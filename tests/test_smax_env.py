"""The SMAX adapter keeps SMAC's interface and SMAC's episode semantics."""

import numpy as np
import pytest

from envs.smax import SMAXEnv, SMAXVectorEnv
from utils.config import layered_config

STOP = 4  # SMAX's "stop" action: always available, even to a dead agent


def smax_args(**changes):
    """smax.yaml's env_args with the test's changes: the constructors have no defaults of their own."""
    return {**layered_config("qmix", "smax")["env_args"], **changes}


@pytest.fixture(scope="module")
def env():
    return SMAXEnv(**smax_args(map_name="3m", max_steps=12, reward_scale=10.0), seed=0)


def test_env_info_has_smac_keys(env):
    info = env.get_env_info()
    assert info == {"n_agents": 3, "n_actions": 8, "state_shape": info["state_shape"],
                    "obs_shape": info["obs_shape"], "episode_limit": 12}
    env.reset()
    assert len(env.get_obs()) == 3 and env.get_obs()[0].shape == (info["obs_shape"],)
    assert env.get_state().shape == (info["state_shape"],)
    assert np.stack(env.get_avail_actions()).shape == (3, 8)


def test_time_limit_ends_the_episode_at_exactly_max_steps(env):
    env.reset()
    steps, done = 0, False
    while not done:
        _, done, info = env.step([STOP] * 3)  # standing still, nobody is in range: a time-out
        steps += 1
    assert steps == 12
    assert info == {"battle_won": False, "episode_limit": True}
    assert env.get_stats()["timeouts"] >= 1


def test_vector_env_matches_the_time_limit_and_reward_scale():
    vector = SMAXVectorEnv(2, seed=0, **smax_args(map_name="3m", max_steps=5, reward_scale=10.0))
    vector.reset()
    for step in range(5):
        obs, state, avail, reward, done, won, time_limit = vector.step(np.full((2, 3), STOP))
        assert obs.shape == (2, 3, vector.core.obs_shape) and state.shape == (2, vector.core.state_shape)
        assert done.tolist() == [step == 4] * 2
    assert time_limit.tolist() == [True, True] and won.tolist() == [False, False]


def test_normalized_state_lies_in_unit_interval_and_keeps_its_shape():
    raw = SMAXEnv(**smax_args(map_name="2s3z", normalize_state=False), seed=4)
    normalized = SMAXEnv(**smax_args(map_name="2s3z", normalize_state=True), seed=4)
    raw.reset()
    normalized.reset()
    for _ in range(5):  # same seed, same actions: the same battle seen through both states
        raw.step([STOP] * 5)
        normalized.step([STOP] * 5)
    raw_state, state = raw.get_state(), normalized.get_state()
    assert state.shape == raw_state.shape
    assert raw_state.max() > 5  # SMAX's raw state holds map positions
    assert state.min() >= 0.0 and state.max() <= 1.0
    assert state[1:3] == pytest.approx(raw_state[1:3] / 32.0)  # the first unit's position on the 32x32 map
    assert state[0] == raw_state[0]  # health fractions are kept
