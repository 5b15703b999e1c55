"""A resume is checked against the checkpoint's run before any output is touched: settings that
would change what is learned must match, t_max must go beyond the saved step, a resume from an
earlier step forks into a new run folder instead of overwriting the later steps."""

import json
import os
from types import SimpleNamespace

import pytest

import run.loop as training
from cli_runs import model_dir, output_of, read_json, run_main, sacred_dir
from main import prepare_config
from run.state import check_resume
from utils.checkpoint import CheckpointError, write_checkpoint
from utils.config import layered_config

STEP = 500


def saved_run(tmp_path, alg="qmix", **changes):
    """A checkpoint folder whose meta records the ``alg``/smax config with ``changes`` (no tensors needed here)."""
    config = layered_config(alg, "smax")
    config.update(seed=7, **changes)
    root = tmp_path / "models" / "saved_run"
    write_checkpoint(str(root / str(STEP)), {"format": 1, "unique_token": "saved_run", "t_env": STEP, "parts": [],
                                             "architecture": {}, "config": config}, {})
    return str(root)


def resume(root, *overrides):
    return prepare_config(["main.py", "--config=qmix", "--env-config=smax", "with", f"checkpoint_path={root}",
                           "t_max=1000", *overrides])


def test_settings_that_change_learning_are_refused_each_named(tmp_path):
    root = saved_run(tmp_path)
    with pytest.raises(CheckpointError) as error:
        resume(root, "seed=7", "lr=0.1", "optimizer=rmsprop", "env_args.map_name=2s3z")
    message = str(error.value)
    for difference in ("lr=0.1 (checkpoint: 0.001)", "optimizer='rmsprop' (checkpoint: 'adam')",
                       "env_args.map_name='2s3z' (checkpoint: '3m')"):
        assert difference in message
    with pytest.raises(CheckpointError, match=r"runner='parallel' \(checkpoint: 'vectorized'\)"):
        resume(root, "seed=7", "runner=parallel")


def test_what_may_change_passes_and_an_unset_seed_takes_the_saved_one(tmp_path):
    root = saved_run(tmp_path)
    config, _ = resume(root, "name=resumed", "test_interval=500", "save_model=True")
    assert config["seed"] == 7


def test_t_max_must_go_beyond_the_checkpoint(tmp_path):
    root = saved_run(tmp_path)
    with pytest.raises(CheckpointError, match=f"t_max=400 does not go beyond the checkpoint's step {STEP}"):
        prepare_config(["main.py", "--config=qmix", "--env-config=smax", "with", f"checkpoint_path={root}", "t_max=400"])


def test_settings_the_checkpoint_predates_are_noted(tmp_path):
    root = saved_run(tmp_path)
    meta_path = os.path.join(root, str(STEP), "meta.json")
    meta = read_json(meta_path)
    del meta["config"]["sm_scale"]
    with open(meta_path, "w") as handle:
        json.dump(meta, handle)
    notes = check_resume({**layered_config("qmix", "smax"), "seed": 7, "checkpoint_path": root, "load_step": 0,
                          "t_max": 1000})
    assert notes == [f"checkpoint {os.path.join(root, str(STEP))} predates the setting sm_scale; "
                     "this run uses sm_scale='fixed'"]


def resume_notes(root, alg, **settings):
    return check_resume({**layered_config(alg, "smax"), "seed": 7, "checkpoint_path": root, "load_step": 0,
                         **settings})


def test_a_new_t_max_names_the_schedules_it_stretches(tmp_path):
    root = saved_run(tmp_path, alg="mast_qmix", t_max=2000, td_lambda_schedule=[[0, 0.0], [0.25, 0.6]])
    notes = resume_notes(root, "mast_qmix", t_max=8000, td_lambda_schedule=[[0, 0.0], [0.25, 0.6]])
    assert notes == [
        "t_max=8000 (checkpoint's run: 2000) moves the topology updates' end to env step 6000 (was 1500: "
        "sparse.stop_fraction=0.75) and stretches the cosine drop-fraction schedule with it",
        "t_max=8000 (checkpoint's run: 2000) moves td_lambda_schedule's points given as fractions of t_max to "
        "env steps [[0, 0.0], [2000, 0.6]] (were [[0, 0.0], [500, 0.6]])",
    ]
    assert resume_notes(root, "mast_qmix", t_max=2000, td_lambda_schedule=[[0, 0.0], [0.25, 0.6]]) == []


def test_a_new_t_max_is_silent_where_nothing_follows_it(tmp_path):
    dense = saved_run(tmp_path / "dense", t_max=2000)
    assert resume_notes(dense, "qmix", t_max=8000) == []
    static = saved_run(tmp_path / "static", alg="rigl_qmix", t_max=2000, sparse={
        **layered_config("rigl_qmix", "smax")["sparse"], "method": "static"})
    assert resume_notes(static, "rigl_qmix", t_max=8000, sparse={
        **layered_config("rigl_qmix", "smax")["sparse"], "method": "static"}) == []


@pytest.mark.slow
def test_a_resume_from_an_earlier_step_forks_and_keeps_the_later_steps(tmp_path):
    results = str(tmp_path)
    first = run_main(results, "t_max=500", "name=first", "save_model=True", "save_model_interval=200",
                     "save_buffer=True")
    assert first.returncode == 0, output_of(first)[-3000:]
    root = model_dir(results)
    steps = sorted(int(name) for name in os.listdir(root))
    assert len(steps) >= 2
    later = {name: os.path.getmtime(os.path.join(root, str(steps[-1]), name))
             for name in os.listdir(os.path.join(root, str(steps[-1])))}

    second = run_main(results, "t_max=700", "name=fork", "save_model=True", "save_model_interval=200",
                      f"checkpoint_path={root}", f"load_step={steps[0]}")
    assert second.returncode == 0, output_of(second)[-3000:]
    assert "is not the latest step of its run: this run continues from it as fork_seed7_3m_" in second.stdout
    assert sorted(int(name) for name in os.listdir(root)) == steps  # nothing added, nothing replaced
    assert later == {name: os.path.getmtime(os.path.join(root, str(steps[-1]), name)) for name in later}
    token = read_json(os.path.join(sacred_dir(results, "fork", 1), "info.json"))["unique_token"]
    assert token != os.path.basename(root) and os.listdir(os.path.join(results, "models", token))


@pytest.mark.slow
def test_a_refused_resume_leaves_the_runs_outputs_untouched(tmp_path):
    results = str(tmp_path)
    root = saved_run(tmp_path)
    events = tmp_path / "tb_logs" / "saved_run" / "events.out.tfevents.1"
    events.parent.mkdir(parents=True)
    events.write_bytes(b"the saved run's events")
    before = (events.stat().st_mtime, events.read_bytes())
    result = run_main(results, f"checkpoint_path={root}", "t_max=1000", "use_tensorboard=True",
                      "env_args.map_name=2s3z")
    assert result.returncode == 2, output_of(result)[-3000:]
    assert "env_args.map_name='2s3z' (checkpoint: '3m')" in result.stderr
    assert (events.stat().st_mtime, events.read_bytes()) == before
    assert not os.path.exists(os.path.join(results, "sacred"))  # refused before Sacred started a run


def test_a_checkpoint_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(training, "save_run_state", full_disk)
    logger = SimpleNamespace(flush=lambda: None, console_logger=None)
    args = SimpleNamespace(local_results_path=str(tmp_path), unique_token="run")
    with pytest.raises(CheckpointError) as error:
        training.save(args, {}, 1200, logger)
    assert str(error.value) == (f"could not write the checkpoint of t_env 1200 under {tmp_path}/models/run "
                                "(No space left on device); the steps saved before it are intact")
