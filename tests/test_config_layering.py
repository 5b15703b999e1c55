"""Alg files that start from others (``base``): the chain, what a child overrides, what a
``with`` override does, the one-line errors, and the relations the shipped alg files promise."""

import os

import pytest
import yaml

from main import prepare_config
from utils.config import ConfigError, available_configs, layered_config, load_alg_layers

ALGS = available_configs("algs")
ENVS = available_configs("envs")


def alg_file(folder, name, contents):
    path = os.path.join(str(folder), f"{name}.yaml")
    with open(path, "w") as stream:
        yaml.safe_dump(contents, stream, sort_keys=False)
    return path


def layer_names(alg):
    return [where for _, where in load_alg_layers(alg)]


def test_a_chain_layers_each_base_under_its_child():
    assert layer_names("set_qmix") == ["algs/qmix.yaml", "algs/rigl_qmix.yaml", "algs/set_qmix.yaml"]
    config, rigl, qmix = (layered_config(alg, "smax") for alg in ("set_qmix", "rigl_qmix", "qmix"))
    assert config["sparse"] == {**rigl["sparse"], "method": "set"}  # nested keys merge one by one
    assert {key for key in qmix if config[key] != qmix[key]} == {"name", "sparse"}


def test_a_file_reached_twice_is_layered_once_at_its_first_place():
    assert layer_names("mast_vdn") == ["algs/qmix.yaml", "algs/vdn.yaml", "algs/rigl_qmix.yaml",
                                       "algs/mast_qmix.yaml", "algs/mast_vdn.yaml"]
    config = layered_config("mast_vdn", "smax")
    # qmix.yaml's mixer and buffer, under both bases, do not come back over vdn's and mast_qmix's
    assert (config["mixer"], config["buffer"], config["target_operator"]) == ("vdn", "dual", "soft_mellowmax")


def test_a_base_chain_of_files_given_by_path(tmp_path):
    alg_file(tmp_path, "middle", {"base": "mast_qmix", "name": "middle", "lr": 0.002, "sparse": {"sparsity": 0.8}})
    child = alg_file(tmp_path, "child", {"base": "middle.yaml", "name": "child", "td_lambda": 0.3})
    assert layer_names(child)[-2:] == [os.path.join(str(tmp_path), "middle.yaml"), child]
    config, mast = layered_config(child, "smax"), layered_config("mast_qmix", "smax")
    assert (config["name"], config["lr"], config["td_lambda"]) == ("child", 0.002, 0.3)
    assert config["sparse"] == {**mast["sparse"], "sparsity": 0.8}
    assert {key for key in mast if config[key] != mast[key]} == {"name", "lr", "td_lambda", "sparse"}


def test_a_child_overrides_its_base_and_a_with_override_wins_over_both(tmp_path):
    child = alg_file(tmp_path, "fast_qmix", {"base": "qmix", "name": "fast_qmix", "lr": 0.01})
    config = layered_config(child, "smax")
    assert config["lr"] == 0.01 and config["td_lambda"] == 0.6  # the child's, the rest qmix.yaml's
    config, _ = prepare_config(["main.py", f"--config={child}", "--env-config=smax", "with", "lr=0.02",
                                "td_lambda=0.4"])
    assert (config["lr"], config["td_lambda"]) == (0.02, 0.4)
    config, _ = prepare_config(["main.py", "--config=mast_vdn", "--env-config=smax", "with", "target_operator=max",
                                "sparse.method=set"])
    assert (config["target_operator"], config["sparse"]["method"], config["mixer"]) == ("max", "set", "vdn")


def test_base_is_not_a_config_key():
    for alg in ALGS:
        assert "base" not in layered_config(alg, "smax"), alg
    with pytest.raises(ConfigError, match="unknown config key 'base'"):
        prepare_config(["main.py", "--config=qmix", "--env-config=smax", "with", "base=vdn"])


def test_a_pymarl_file_with_a_base_has_its_keys_translated(tmp_path):
    path = alg_file(tmp_path, "ow", {"base": "qmix", "learner": "max_q_learner", "hysteretic_qmix": True, "w": 0.1,
                                     "central_mixer": "ff", "central_rnn_hidden_dim": 64, "name": "ow"})
    config = layered_config(path, "smax")
    assert (config["learner"], config["wqmix_weighting"], config["wqmix_alpha"], config["lr"]) == (
        "wqmix_learner", "ow", 0.1, 0.001)


def one_line_error(alg):
    with pytest.raises(ConfigError) as error:
        layered_config(alg, "smax")
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_missing_base_is_one_line(tmp_path):
    named = alg_file(tmp_path, "named", {"base": "qmixx", "name": "named"})
    assert one_line_error(named).startswith(f"{named}: unknown base 'qmixx'; choose one of: cw_qmix, ")
    by_path = alg_file(tmp_path, "by_path", {"base": ["qmix", "gone.yaml"], "name": "by_path"})
    assert one_line_error(by_path) == f"{by_path}: base file {os.path.join(str(tmp_path), 'gone.yaml')} does not exist"
    wrong = alg_file(tmp_path, "wrong", {"base": 3, "name": "wrong"})
    assert one_line_error(wrong) == f"{wrong}: base must be an alg name or a list of them, got 3"


def test_a_base_cycle_is_one_line(tmp_path):
    first = alg_file(tmp_path, "first", {"base": "second.yaml", "name": "first"})
    second = alg_file(tmp_path, "second", {"base": "first.yaml", "name": "second"})
    assert one_line_error(first) == f"{first}: base cycle {first} -> {second} -> {first}"
    itself = alg_file(tmp_path, "itself", {"base": "itself.yaml", "name": "itself"})
    assert one_line_error(itself) == f"{itself}: base cycle {itself} -> {itself}"


@pytest.mark.parametrize("env", ENVS)
def test_mast_qmix_onestep_first_is_mast_qmix_under_its_own_name(env):
    variant, mast = layered_config("mast_qmix_onestep_first", env), layered_config("mast_qmix", env)
    assert variant == {**mast, "name": "mast_qmix_onestep_first"}


@pytest.mark.parametrize("alg", ALGS)
def test_every_alg_file_starts_from_qmix_and_comments_each_key(alg):
    assert layer_names(alg)[0] == "algs/qmix.yaml"
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "config", "algs",
                           f"{alg}.yaml")) as stream:
        lines = stream.read().splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):  # a key: commented there or just above it
            assert "#" in line or lines[number - 1].lstrip().startswith("#"), f"{alg}.yaml line {number + 1}"
