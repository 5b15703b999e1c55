"""Sweeps on Ray (issue 15): the grid, a local sweep of four tiny points tagged in their
records, a relaunch that skips them, a bad point named before any run, a killed point
resumed from its checkpoint, and a sweep on a two-node Ray cluster on 127.0.0.1."""

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from cli_runs import REPO, TINY, read_json, subprocess_env
from mongo_server import free_port
from sweeps.grid import parse_grid, point_label, run_name

SWEEP = os.path.join(REPO, "src", "sweep.py")
RAY = os.path.join(os.path.dirname(sys.executable), "ray")


def ray_env():
    """Local test clusters: no token (PLATFORM.md), and the points at normal priority (Ray starts
    its tasks at nice 15, which beside training runs on a developer's machine leaves them
    almost no CPU; README "Sweeps")."""
    return {**subprocess_env(), "RAY_AUTH_MODE": "disabled", "RAY_worker_niceness": "0"}


def sweep_command(results, *tokens):
    flags = [token for token in tokens if token.startswith("--")]
    return [sys.executable, SWEEP, *flags, "--config=qmix", "--env-config=smax", "with", *TINY, "t_max=400",
            f"local_results_path={results}", *(token for token in tokens if not token.startswith("--"))]


def run_sweep(results, *tokens, timeout=1200):  # generous: a loaded 2-core machine compiles each point's env slowly
    result = subprocess.run(sweep_command(results, *tokens), capture_output=True, text=True, timeout=timeout,
                            cwd=REPO, env=ray_env())
    return result, result.stdout + result.stderr


def sweep_records(results, sweep_name):
    """``{sweep_point: [run.json status, ...]}`` of the Sacred runs tagged with ``sweep_name``."""
    records = {}
    for config_path in glob.glob(os.path.join(results, "sacred", "*", "*", "*", "config.json")):
        config = read_json(config_path)
        if config["sweep_name"] == sweep_name:
            run = read_json(os.path.join(os.path.dirname(config_path), "run.json"))
            info_path = os.path.join(os.path.dirname(config_path), "info.json")
            # Sacred writes info.json at its first heartbeat: a run killed (-9) before it has none
            if run["status"] == "COMPLETED" or os.path.exists(info_path):
                assert read_json(info_path)["sweep"] == {"name": sweep_name, "point": config["sweep_point"]}
            records.setdefault(config["sweep_point"], []).append(run["status"])
    return records


def test_lists_are_axes_unless_the_key_holds_a_list():
    grid = parse_grid("mast_qmix", "smax", [
        "seed=[1,2]", "env_args.map_name=[3m, 2s3z]", "td_lambda_schedule=[[0,0.0],[0.1,0.6]]",
        "sparse.dense_layers=grid:[[],['mixer']]", "lr=0.0005",
    ])
    assert grid.fixed == ["td_lambda_schedule=[[0,0.0],[0.1,0.6]]", "lr=0.0005"]
    assert grid.axes == [("seed", [1, 2]), ("env_args.map_name", ["3m", "2s3z"]),
                         ("sparse.dense_layers", [[], ["mixer"]])]
    points = grid.points()
    assert len(points) == 8
    assert point_label(points[-1]) == "seed=2 env_args.map_name=2s3z sparse.dense_layers=['mixer']"
    assert run_name("mast_qmix", points[-1]) == "mast_qmix__sparse.dense_layers=mixer"
    assert run_name("mast_qmix", points[0][:2]) == "mast_qmix"  # seeds and maps are in the folders already


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    results = str(tmp_path_factory.mktemp("sweep"))
    result, output = run_sweep(results, "seed=[1,2]", "env_args.map_name=[3m,2s3z]", "sweep_name=four")
    assert result.returncode == 0, output[-3000:]
    return results, output


@pytest.mark.slow
def test_a_local_sweep_runs_every_point_tagged_with_the_sweep(local_sweep):
    results, output = local_sweep
    records = sweep_records(results, "four")
    assert records == {f"seed={seed} env_args.map_name={name}": ["COMPLETED"]
                       for seed in (1, 2) for name in ("3m", "2s3z")}
    assert "Sweep four after" in output and "4 of 4 points complete" in output
    assert "python benchmarks/results_table.py --sweep four" in output
    table = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "results_table.py"), "--sweep", "four",
                            "--results", results], capture_output=True, text=True, cwd=REPO)
    rows = {tuple(line.split(" | ")[:2]) for line in table.stdout.splitlines() if line.startswith("| env_args")}
    assert rows == {("| env_args.map_name=3m", "2"), ("| env_args.map_name=2s3z", "2")}


@pytest.mark.slow
def test_a_relaunch_skips_the_complete_points(local_sweep):
    results, _ = local_sweep
    result, output = run_sweep(results, "seed=[1,2]", "env_args.map_name=[3m,2s3z]", "sweep_name=four")
    assert result.returncode == 0, output[-3000:]
    assert "4 points, 4 already complete" in output and "already complete" in output
    assert all(statuses == ["COMPLETED"] for statuses in sweep_records(results, "four").values())


@pytest.mark.slow
def test_a_bad_point_is_named_before_any_run(tmp_path):
    result, output = run_sweep(str(tmp_path), "seed=[1,2]", "lr=[0.001,-1.0]", "sweep_name=bad")
    assert result.returncode == 2, output[-3000:]
    errors = [line for line in output.splitlines() if "error:" in line]
    assert errors == ["error: point seed=1 lr=-1.0: lr must be positive, got -1.0"]
    assert not os.path.exists(os.path.join(str(tmp_path), "sacred"))


@pytest.mark.slow
def test_a_killed_point_resumes_from_its_checkpoint(tmp_path):
    results = str(tmp_path)
    # t_max is many checkpoint intervals, so that seed 1 is still training when it is killed at
    # its first checkpoint, even on a loaded machine (at 1600 it once completed before the kill)
    tokens = ["seed=[1,2]", "t_max=8000", "save_model_interval=400", "save_buffer=True", "sweep_name=killed"]
    sweep = subprocess.Popen(sweep_command(results, *tokens), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, cwd=REPO, env=ray_env())
    deadline = time.time() + 900
    while not glob.glob(os.path.join(results, "models", "qmix_seed1_*", "*", "meta.json")):
        assert sweep.poll() is None and time.time() < deadline, sweep.stdout.read()[-3000:]
        time.sleep(0.5)
    victim = subprocess.run(["pgrep", "-f", f"local_results_path={results} .*sweep_point=seed=1"],
                            capture_output=True, text=True).stdout.split()
    assert len(victim) == 1
    os.kill(int(victim[0]), signal.SIGKILL)
    output = sweep.communicate(timeout=1200)[0]
    assert sweep.returncode == 1, output[-3000:]
    assert "seed=1: failed (exit -9" in output and "1 of 2 points complete" in output

    result, output = run_sweep(results, *tokens)
    assert result.returncode == 0, output[-3000:]
    assert "seed=1: resumed, complete" in output and "seed=2: already complete" in output
    assert sorted(sweep_records(results, "killed")["seed=1"]) == ["COMPLETED", "RUNNING"]  # kill -9 leaves RUNNING


@pytest.mark.slow
def test_ctrl_c_stops_each_point_as_ctrl_c_stops_a_run(tmp_path):
    results = str(tmp_path)
    tokens = ["seed=[1]", "t_max=1000000", "save_model_interval=1000000", "sweep_name=stopped"]
    # started with SIGINT ignored, as a background job of a script starts (the shell's ignore survives its exec)
    with_sigint_ignored = ["bash", "-c", 'trap "" INT; exec "$@"', "bash"]
    sweep = subprocess.Popen(with_sigint_ignored + sweep_command(results, *tokens), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, cwd=REPO, env=ray_env())
    log = os.path.join(results, "sweeps", "stopped", "qmix_seed1_3m.log")
    deadline = time.time() + 900
    while not (os.path.exists(log) and "Recent stats" in open(log).read()):  # the point trains
        assert sweep.poll() is None and time.time() < deadline, sweep.stdout.read()[-3000:]
        time.sleep(0.5)
    sweep.send_signal(signal.SIGINT)
    output = sweep.communicate(timeout=900)[0]
    assert sweep.returncode == 130, output[-3000:]
    assert "Interrupted by SIGINT at t_env" in open(log).read()
    assert sweep_records(results, "stopped") == {"seed=1": ["INTERRUPTED"]}
    assert glob.glob(os.path.join(results, "models", "qmix_seed1_3m_*", "*", "learner.pt"))  # the final checkpoint


@pytest.mark.slow
def test_a_search_of_three_trials_prints_a_ready_best_configuration(tmp_path):
    result, output = run_sweep(str(tmp_path), "--search", "seed=[1]", "lr=loguniform(0.0001,0.01)",
                               "search_trials=3", "sweep_name=tune")
    assert result.returncode == 0, output[-3000:]
    assert len([line for line in output.splitlines() if line.startswith("trial ")]) == 3
    (best,) = [line for line in output.splitlines() if line.startswith("Best configuration: ")]
    assert best.startswith("Best configuration: python src/main.py --config=qmix --env-config=smax with ")
    assert " lr=0.0" in best and "sweep_name" not in best and "[1]" not in best
    assert len(sweep_records(str(tmp_path), "tune")) == 3  # one run per trial, tagged with the search
    assert os.path.isfile(os.path.join(str(tmp_path), "sweeps", "tune", "optuna.db"))


@pytest.mark.slow
def test_a_malformed_search_space_is_one_line(tmp_path):
    result, output = run_sweep(str(tmp_path), "--search", "lr=loguniform(0.01,0.001)", "sweep_name=badspace")
    assert result.returncode == 2, output[-3000:]
    errors = [line for line in output.splitlines() if "error:" in line]
    assert errors == ["error: lr=loguniform(0.01,0.001): loguniform(low,high) needs two numbers, low < high, low > 0"]


def ray_processes():
    return set(subprocess.run(["pgrep", "-f", "ray"], capture_output=True, text=True).stdout.split())


@pytest.mark.slow
@pytest.mark.cluster
def test_a_sweep_runs_on_a_two_node_ray_cluster(tmp_path):
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="rayt", dir="/tmp")  # short: Ray's socket paths must stay short
    before = ray_processes()
    try:
        subprocess.run([RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
                        "--include-dashboard=false", f"--temp-dir={temp_dir}"],
                       check=True, capture_output=True, env=ray_env(), timeout=120)
        subprocess.run([RAY, "start", f"--address=127.0.0.1:{port}", "--num-cpus=1"],
                       check=True, capture_output=True, env=ray_env(), timeout=120)
        result, output = run_sweep(str(tmp_path), "seed=[1,2]", f"ray_address=127.0.0.1:{port}", "sweep_name=cluster")
        assert result.returncode == 0, output[-3000:]
        assert "2 of 2 points complete" in output
        assert sweep_records(str(tmp_path), "cluster") == {"seed=1": ["COMPLETED"], "seed=2": ["COMPLETED"]}
    finally:
        for pid in ray_processes() - before:  # only the Ray processes this test started (ray stop stops all)
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
