"""SMAC's StarCraft II env (``sc2``), imported only when asked for.

SMAC needs oxwhirl's ``smac`` package (from its git repository; PyPI's ``smac`` is an
unrelated hyperparameter optimiser) and the StarCraft II game at ``SC2PATH``. Either one
missing is a :class:`SMACUnavailableError` that says what is missing and how to install
it, raised before any training work starts.
"""

import os

INSTALL_STEPS = (
    "To run SMAC (env sc2):\n"
    "  1. pip install git+https://github.com/oxwhirl/smac.git\n"
    "  2. install StarCraft II (Linux build 4.10) and the SMAC maps, following\n"
    "     https://github.com/oxwhirl/smac#installing-starcraft-ii, then set SC2PATH to the\n"
    "     game folder (default ~/StarCraftII).\n"
    "Without StarCraft II, the same scenarios run on SMAX: --env-config=smax"
)


class SMACUnavailableError(RuntimeError):
    """SMAC or StarCraft II is not installed."""


def _game_path():
    return os.environ.get("SC2PATH", os.path.expanduser("~/StarCraftII"))


def check_smac_available():
    """Raise SMACUnavailableError unless both the smac package and the game are present."""
    try:
        from smac.env import StarCraft2Env  # noqa: F401
    except ImportError as error:
        raise SMACUnavailableError(
            f"env 'sc2' needs oxwhirl's SMAC package, which is not installed ({error}).\n{INSTALL_STEPS}"
        ) from None
    versions = os.path.join(_game_path(), "Versions")
    if not os.path.isdir(versions):
        raise SMACUnavailableError(
            f"env 'sc2' needs the StarCraft II game, not found at {versions} "
            f"(SC2PATH={_game_path()}).\n{INSTALL_STEPS}"
        )


def make_sc2_env(**env_args):
    """Build SMAC's StarCraft2Env with PyMARL2's env_args."""
    check_smac_available()
    from smac.env import StarCraft2Env

    return StarCraft2Env(**env_args)
