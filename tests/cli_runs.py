"""Tiny training runs of src/main.py in a subprocess, started the way a user starts them:
the one place every CLI test builds, runs or starts its command (:func:`run_main`, :func:`start_main`)."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, "src", "main.py")
# A few hundred env steps of QMIX on SMAX 3m: 4 envs per runner call, updates on 8 episodes,
# a test, a log line and the stats every ~200 steps.
TINY = [
    "batch_size=8", "batch_size_run=4", "buffer_size=64", "test_nepisode=4", "test_interval=200",
    "log_interval=200", "runner_log_interval=200", "learner_log_interval=200", "target_update_interval=8",
    "seed=7",
]


def subprocess_env():
    """The environment of a run: unbuffered output (a killed run's output is not lost). Runs
    share JAX's compilation cache through smax.yaml's ``env_args.jax_cache_dir``."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main_command(results, *overrides, config="qmix", env="smax", tiny=True):
    """``python src/main.py --config=<config> --env-config=<env> with TINY local_results_path=<results>
    <overrides>``; ``tiny=False`` leaves TINY out (the config's own settings), ``results=None``
    the results path (the config's own)."""
    return [sys.executable, MAIN, f"--config={config}", f"--env-config={env}", "with", *(TINY if tiny else []),
            *([] if results is None else [f"local_results_path={results}"]), *overrides]


def run_main(results, *overrides, timeout=600, config="qmix", env="smax", tiny=True):
    """Run src/main.py (:func:`main_command`) to completion; returns the CompletedProcess
    (stdout and stderr as text). Every CLI test that waits for its run goes through here."""
    return subprocess.run(main_command(results, *overrides, config=config, env=env, tiny=tiny), capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=subprocess_env())


def start_main(results, *overrides, log=None):
    """Start src/main.py without waiting for it; its stdout and stderr go to the open file
    ``log`` (None: discarded)."""
    return subprocess.Popen(main_command(results, *overrides), stdout=log or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if log else subprocess.DEVNULL, cwd=REPO, env=subprocess_env())


def output_of(result):
    return result.stdout + result.stderr


def sacred_dir(results, name, run_id):
    return os.path.join(results, "sacred", "3m", name, str(run_id))


def read_json(path):
    with open(path) as stream:
        return json.load(stream)


def logged_metrics(info, after=-1):
    """``{metric: [(t_env, value), ...]}`` of a Sacred info.json, only steps > ``after``."""
    return {
        key: [(t, value) for t, value in zip(info[key + "_T"], info[key]) if t > after]
        for key in info if key + "_T" in info
    }


def model_dir(results):
    """The one run directory under ``results/models``."""
    tokens = os.listdir(os.path.join(results, "models"))
    assert len(tokens) == 1, tokens
    return os.path.join(results, "models", tokens[0])
