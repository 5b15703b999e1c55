"""Environment registry: ``env`` in YAML picks a constructor here.

Every env has SMAC's interface (reset, step -> (reward, terminated, info), get_obs,
get_state, get_avail_actions, get_env_info, get_stats, close). An env may also offer a
vectorised form (``VECTOR_ENVS``) that the ``vectorized`` runner uses.
Constructors import their simulator lazily, so a missing simulator only matters when its
env is asked for.
"""

from utils.config import ConfigError


def _smax(**env_args):
    from envs.smax import SMAXEnv

    return SMAXEnv(**env_args)


def _smax_vector(n_envs, seed, **env_args):
    from envs.smax import SMAXVectorEnv

    return SMAXVectorEnv(n_envs, seed, **env_args)


def _sc2(**env_args):
    from envs.sc2 import make_sc2_env

    return make_sc2_env(**env_args)


def _check_sc2():
    from envs.sc2 import check_smac_available

    check_smac_available()


def _gymma(**env_args):
    from envs.gymma import GymmaEnv

    return GymmaEnv(**env_args)


def _check_gymma(key, time_limit, reward_scalarisation, pretrained_wrapper, **_):
    from envs.gymma import SCALARISATIONS, check_key

    if reward_scalarisation not in SCALARISATIONS:
        raise ConfigError(f"env_args.reward_scalarisation must be one of {', '.join(SCALARISATIONS)}, "
                          f"got {reward_scalarisation!r}")
    check_key(key, time_limit, pretrained_wrapper)


def _check_smax(map_name, max_steps, reward_scale, **_):
    from envs.smax import known_maps

    maps = known_maps()
    if map_name not in maps:
        raise ConfigError(f"unknown SMAX map '{map_name}' (env_args.map_name); known maps: {', '.join(maps)}")
    if max_steps < 1:
        raise ConfigError(f"env_args.max_steps must be at least 1, got {max_steps}")
    if reward_scale <= 0:
        raise ConfigError(f"env_args.reward_scale must be positive, got {reward_scale}")


REGISTRY = {"smax": _smax, "sc2": _sc2, "gymma": _gymma}
VECTOR_ENVS = {"smax": _smax_vector}
# Cheap checks run before training: a missing simulator or unknown map stops the run early.
PREFLIGHT_CHECKS = {"smax": _check_smax, "sc2": lambda **_: _check_sc2(), "gymma": _check_gymma}
