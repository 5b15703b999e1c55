"""Entry point, PyMARL style:

    python src/main.py --config=<alg> --env-config=<env> with key=value nested.key=value

Config layers (later wins): config/default.yaml < config/envs/<env>.yaml <
config/algs/<alg>.yaml (after the alg files its ``base`` names) < the ``with`` overrides.
The layered config is checked (unknown keys, types, values, the env's simulator and map)
before Sacred starts the run; a problem ends the program with one message naming it.
"""

import signal
import sys
import warnings

warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

from sacred import SETTINGS, Experiment  # noqa: E402
from sacred.utils import apply_backspaces_and_linefeeds  # noqa: E402

from envs import PREFLIGHT_CHECKS  # noqa: E402
from envs.sc2 import SMACUnavailableError  # noqa: E402
from run.loop import run  # noqa: E402
from run.state import check_resume  # noqa: E402
from run.validation import validate_config  # noqa: E402
from runners.env_backends import WorkerError  # noqa: E402
from utils.checkpoint import CheckpointError  # noqa: E402
from utils.config import ConfigError, check_types, layered_config, merge_layer, parse_value  # noqa: E402
from utils.interrupt import TrainingInterrupted  # noqa: E402
from utils.logging import TrackingError, get_console_logger  # noqa: E402
from utils.mongo_record import ResilientMongoObserver  # noqa: E402
from utils.observers import ObserverError, build_observers  # noqa: E402

DATABASE_RECORD_INCOMPLETE = 3  # exit code: the run completed, its files are whole, MongoDB's record is not

SETTINGS.CAPTURE_MODE = "sys"
SETTINGS.CONFIG.READ_ONLY_CONFIG = False


def split_argv(argv):
    """``(alg, env, sacred_argv)``: pull ``--config`` and ``--env-config`` out of argv."""
    alg = env = None
    rest = [argv[0]]
    args = iter(argv[1:])
    for arg in args:
        for flag in ("--config", "--env-config"):
            if arg == flag:
                value = next(args, None)
            elif arg.startswith(flag + "="):
                value = arg[len(flag) + 1:]
            else:
                continue
            if flag == "--config":
                alg = value
            else:
                env = value
            break
        else:
            rest.append(arg)
    return alg, env, rest


def parse_overrides(sacred_argv):
    """The ``with key=value`` overrides as a nested dict."""
    if "with" not in sacred_argv:
        stray = [token for token in sacred_argv[1:] if "=" in token]
        if stray:
            raise ConfigError(f"'{stray[0]}' needs 'with' before it: python src/main.py --config=<alg> "
                              f"--env-config=<env> with {' '.join(stray)}")
        return {}
    overrides = {}
    for token in sacred_argv[sacred_argv.index("with") + 1:]:
        if "=" not in token:
            raise ConfigError(f"'{token}' after 'with' is not key=value (named configs are not used here)")
        key, text = token.split("=", 1)
        *parents, leaf = key.split(".")
        target = overrides
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = parse_value(text)
    return overrides


def prepare_config(argv):
    """Layer and check the config; returns ``(config, sacred_argv)`` or raises ConfigError."""
    alg, env, sacred_argv = split_argv(argv)
    declared = layered_config(alg, env)
    config = merge_layer(declared, parse_overrides(sacred_argv), "the 'with' overrides", allow_new_keys=False)
    check_types(declared, config)
    validate_config(config)
    PREFLIGHT_CHECKS[config["env"]](**config["env_args"])
    if config["checkpoint_path"] and not config["evaluate"]:
        for note in check_resume(config):
            print(f"warning: {note}", file=sys.stderr)
    return config, sacred_argv


def build_experiment(config, console_logger):
    experiment = Experiment("mast", save_git_info=False)
    experiment.logger = console_logger
    experiment.captured_out_filter = apply_backspaces_and_linefeeds
    experiment.add_config(config)
    experiment.observers.extend(build_observers(config))

    @experiment.main
    def sacred_main(_run, _config, _log):
        leave_at_once = False
        try:
            run(_run, dict(_config), _log)
        except KeyboardInterrupt as stop:
            leave_at_once = not isinstance(stop, TrainingInterrupted)  # a second signal
            raise
        except (CheckpointError, ConfigError, TrackingError, WorkerError) as error:
            # One line, no traceback; Sacred still records the run as FAILED with this error.
            # (A ConfigError here is one only the built networks can reveal: sparse.dense_layers.)
            _log.error(f"error: {error}")
            raise SystemExit(2) from error
        finally:
            if not leave_at_once:
                catch_up_database_records(_run)

    return experiment


def catch_up_database_records(sacred_run):
    """Before Sacred's last heartbeat (so that a warning reaches cout.txt): bring a database record
    that missed writes up to date, or mark it incomplete (utils/mongo_record.py)."""
    for observer in sacred_run.observers:
        if isinstance(observer, ResilientMongoObserver):
            observer.catch_up(sacred_run.info)


def database_record_complete(experiment):
    return all(observer.record_complete for observer in experiment.observers
               if isinstance(observer, ResilientMongoObserver))


def main(argv):
    console_logger = get_console_logger()
    try:
        config, sacred_argv = prepare_config(argv)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (SMACUnavailableError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        experiment = build_experiment(config, console_logger)
    except ObserverError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        sacred_run = experiment.run_commandline(sacred_argv)
    except TrainingInterrupted as interrupt:  # Sacred recorded the run as INTERRUPTED; the line is printed
        return 128 + interrupt.signum
    except KeyboardInterrupt:
        print("error: stopped at once (Ctrl-C before training began, or a second signal); checkpoints saved "
              "before it are intact", file=sys.stderr)
        return 128 + signal.SIGINT
    if sacred_run is None or sacred_run.status != "COMPLETED":
        return 1
    return 0 if database_record_complete(experiment) else DATABASE_RECORD_INCOMPLETE


if __name__ == "__main__":
    sys.exit(main(sys.argv))
