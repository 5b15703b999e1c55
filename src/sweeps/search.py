"""Hyperparameter search (``src/sweep.py --search``): Optuna proposes, Ray runs.

    python src/sweep.py --search --config=mast_qmix --env-config=smax with seed=[1,2] \\
        sm_omega=loguniform(2,50) on_policy_fraction=uniform(0.1,0.9) search_trials=20 sweep_name=tune1

A value written ``uniform(a,b)``, ``loguniform(a,b)``, ``int(a,b)`` or ``choice(v1,v2,...)``
is a dimension of the search space; lists are axes as in a sweep (a trial runs every point
of them, e.g. its seeds); the rest is fixed. A trial is the sweep of its points at the values
Optuna's TPE sampler proposes; its objective is the final test win rate (each run's last 5
tests; the test return for envs without wins) averaged over its points, and a trial with a failed point fails. Trials run one after
another, each one's points in parallel on Ray, so that every proposal learns from all the
finished trials; there is no pruning (a trial is one full run per point).

Optuna with a storage rather than Ray Tune: every trial stays an ordinary run of main.py
(the same checks, records and checkpoints as a sweep), and the study lives in
``search_storage`` (default: an SQLite file ``<local_results_path>/sweeps/<sweep_name>/optuna.db``;
an RDB URL lets machines share it), so a search launched again with the same ``sweep_name``
goes on from its finished trials; a trial cut short stays RUNNING in the study and does not
count (its runs stay on disk), so searches on several machines can share one study.
"""

import os
import re
import statistics
import sys

from main import split_argv
from sweeps.grid import format_value, parse_grid, split_top_level
from sweeps.launch import ray_session, run_points
from sweeps.plan import plan_points, sweep_options, with_tokens
from sweeps.records import final_of, sweep_runs
from sweeps.tasks import COMPLETE_CODES
from utils.config import ConfigError, parse_value

DIMENSION = re.compile(r"^(uniform|loguniform|int|choice)\((.*)\)$")
DEFAULT_TRIALS = 20


def split_space(tokens):
    """``({key: (kind, values)}, other tokens)``; a ConfigError names a malformed dimension."""
    space, rest = {}, []
    for token in tokens:
        key, _, text = token.partition("=")
        match = DIMENSION.match(text.strip())
        if not match:
            rest.append(token)
            continue
        kind, values = match[1], [parse_value(part) for part in split_top_level(match[2])]
        if kind == "choice":
            if not values:
                raise ConfigError(f"{key}={text}: choice() needs at least one value")
        elif (len(values) != 2 or not all(isinstance(v, (int, float)) for v in values) or values[0] >= values[1]
              or (kind == "loguniform" and values[0] <= 0) or (kind == "int" and not all(isinstance(v, int) for v in values))):
            raise ConfigError(f"{key}={text}: {kind}(low,high) needs two numbers, low < high"
                              + (", low > 0" if kind == "loguniform" else "") + (", integers" if kind == "int" else ""))
        space[key] = (kind, values)
    return space, rest


def corners(space):
    """Values that check the space before any trial: every bound and every choice."""
    longest = max(len(values) for _, values in space.values())
    return [{key: values[min(index, len(values) - 1)] for key, (_, values) in space.items()} for index in range(longest)]


def suggest(trial, key, kind, values):
    if kind == "choice":
        return trial.suggest_categorical(key, values)
    if kind == "int":
        return trial.suggest_int(key, *values)
    return trial.suggest_float(key, *values, log=kind == "loguniform")


def trial_argv(head, tokens, params):
    """The sweep command line of one trial: its values as one-value axes, so they name its runs."""
    return [*head, *tokens, *(f"{key}=grid:[{value!r}]" for key, value in params.items())]


def trial_objective(points):
    """Mean final test win rate (test return for envs without wins) over the trial's points;
    None if one is not complete."""
    records, finals = {}, []
    for point in points:
        results = point.config["local_results_path"]
        if results not in records:
            records[results] = sweep_runs(results, point.config["sweep_name"])
        final = final_of(records[results].get(point.label, []))
        if final is None:
            return None
        finals.append(final[1])
    return statistics.mean(finals)


def n_finished(study):
    return sum(trial.state.is_finished() for trial in study.get_trials())


def search(argv):
    """Run the search ``argv`` asks for (``--search`` removed); returns the exit code."""
    import optuna

    alg, env, sacred_argv = split_argv(argv)
    options, tokens = sweep_options(with_tokens(sacred_argv))
    try:
        space, tokens = split_space(tokens)
        if not space:
            raise ConfigError("--search needs a search space: e.g. sm_omega=loguniform(2,50), lr=choice(0.0005,0.001)")
        head = [argv[0], f"--config={alg}", f"--env-config={env}", "with"]
        planned = [plan_points(trial_argv(head, tokens, params))[0] for params in corners(space)]
        n_trials = int(options.get("search_trials", DEFAULT_TRIALS))
    except ValueError as error:  # ConfigError is one; int() of a bad search_trials another
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = planned[0][0].config
    sweep_name = config["sweep_name"]
    storage = options.get("search_storage") or "sqlite:///" + os.path.abspath(
        os.path.join(config["local_results_path"], "sweeps", sweep_name, "optuna.db"))
    if storage.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(storage[len("sqlite:///"):]), exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=sweep_name, storage=storage, direction="maximize", load_if_exists=True,
                                sampler=optuna.samplers.TPESampler())
    print(f"Search {sweep_name}: {n_finished(study)} of {n_trials} trials done, study in {storage}", flush=True)
    try:
        with ray_session(options.get("ray_address")) as ray:
            while n_finished(study) < n_trials:
                trial = study.ask()
                params = {key: suggest(trial, key, *dimension) for key, dimension in space.items()}
                try:
                    points, _ = plan_points(trial_argv(head, tokens, params))
                except ValueError as error:  # a combination of values the checks refuse
                    print(f"trial {trial.number}: {params} -> refused: {error}", flush=True)
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                outcomes = run_points(ray, [point for point in points if point.action != "skip"])
                failed = any(code not in COMPLETE_CODES for code, _ in outcomes.values())
                value = None if failed else trial_objective(points)
                if value is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, value)
                print(f"trial {trial.number}: {params} -> " + ("failed" if value is None else f"{value:.3f}"), flush=True)
    except KeyboardInterrupt:
        return 130
    complete = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        print(f"Search {sweep_name}: no trial completed", file=sys.stderr)
        return 1
    best = study.best_trial
    fixed = [token for token in parse_grid(alg, env, tokens).fixed if not token.startswith("sweep_name=")]
    command = " ".join(["python src/main.py", f"--config={alg}", f"--env-config={env}", "with", *fixed,
                        *(f"{key}={format_value(value)}" for key, value in best.params.items())])
    print(f"Best of {len(complete)} trials: trial {best.number}, objective {best.value:.3f}: {best.params}")
    print(f"Best configuration: {command}")
    return 0
