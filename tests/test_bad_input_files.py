"""Bad files and places get one clear line: a YAML syntax error, a results path that cannot
hold files, a malformed MongoDB URL, a checkpoint of the other buffer kind; and outputs keep
the user's umask."""

import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

import utils.config
from components.dual_buffer import DualReplayBuffer
from components.replay_buffer import ReplayBuffer
from main import prepare_config
from utils.checkpoint import write_checkpoint
from utils.config import ConfigError
from utils.observers import ObserverError, mongo_observer, writable_results_path

SCHEME = {"reward": {"vshape": (1,)}}


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path, monkeypatch):
    config_dir = tmp_path / "config"
    shutil.copytree(utils.config.CONFIG_DIR, config_dir)
    with open(config_dir / "algs" / "qmix.yaml", "a") as handle:
        handle.write("lr: [0.1\nbatch_size: 3\n")
    monkeypatch.setattr(utils.config, "CONFIG_DIR", str(config_dir))
    with pytest.raises(ConfigError) as error:
        prepare_config(["main.py", "--config=qmix", "--env-config=smax"])
    message = str(error.value)
    assert message.startswith(f"YAML syntax error in {config_dir / 'algs' / 'qmix.yaml'}, line ")
    assert "column" in message and "\n" not in message


def test_a_results_path_that_cannot_hold_files_is_named(tmp_path):
    a_file = tmp_path / "results"
    a_file.write_text("not a folder")
    with pytest.raises(ObserverError, match="cannot be created"):
        writable_results_path(str(a_file))
    with pytest.raises(ObserverError, match="cannot be created"):
        writable_results_path("/proc/mast-results")


def test_a_malformed_mongo_url_is_one_line():
    with pytest.raises(ObserverError, match="cannot reach MongoDB at mongo_url='mongodb://127.0.0.1:abc'"):
        mongo_observer("mongodb://127.0.0.1:abc", "sacred", "results/sacred/3m/x")


def test_a_checkpoint_of_the_other_buffer_kind_is_named():
    single = ReplayBuffer(SCHEME, {}, 4, 3, rng=np.random.default_rng(0))
    dual = DualReplayBuffer(SCHEME, {}, 4, 2, 0.5, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="single buffer, and this run has buffer=dual"):
        dual.load_state_dict(single.state_dict())
    with pytest.raises(ValueError, match="dual buffer"):
        single.load_state_dict(dual.state_dict())


def test_checkpoint_folders_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        directory = write_checkpoint(str(tmp_path / "run" / "100"), {"step": 100}, {"loop": {"episode": 1}})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755


def test_importing_smax_prints_no_jaxmarl_noise():
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    result = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {src!r}); "
                             "from envs.smax import known_maps; print(len(known_maps()))"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [result.stdout.split()[-1]]  # only the count: nothing from jaxmarl
