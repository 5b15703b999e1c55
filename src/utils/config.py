"""Config layering and validation.

Layers, later wins: ``default.yaml`` < ``envs/<env>.yaml`` < ``algs/<alg>.yaml`` < the
``with`` overrides of the command line. Every key a user may set is declared in one of
the YAML files; an override that names an undeclared key or changes a value's type is
rejected with one message before any work starts.

An alg file may start from others: its optional top-level ``base`` (an alg name, a YAML
path, or a list of them) names files layered under it, each after its own bases
(:func:`load_alg_layers`). ``base`` is read here and is not a config key.
"""

import ast
import copy
import os
from types import SimpleNamespace

import yaml

from utils.pymarl_keys import translate_pymarl_keys

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config")


class ConfigError(ValueError):
    """A configuration problem the user must fix; the message names the bad value."""


def parse_value(text):
    """A ``with`` value as Sacred reads it: a Python literal, else the plain string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def scenario_name(env, env_args):
    """What a run's folders call its scenario: the map (SMAX, SMAC), the env of a gymma key
    (``lbforaging:Foraging-8x8-2p-3f-v3`` -> ``Foraging-8x8-2p-3f-v3``), else the env's name."""
    if "map_name" in env_args:
        return env_args["map_name"]
    if "key" in env_args:
        return str(env_args["key"]).split(":")[-1]
    return env


def available_configs(subdir):
    """Names of the YAML files in ``config/<subdir>`` (without extension), sorted."""
    folder = os.path.join(CONFIG_DIR, subdir)
    return sorted(name[:-5] for name in os.listdir(folder) if name.endswith(".yaml"))


def load_yaml(path):
    """A YAML file's contents; a syntax error is a ConfigError naming the file, line and column."""
    with open(path) as handle:
        try:
            return yaml.safe_load(handle) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise ConfigError(f"YAML syntax error in {path}{where}: {problem}") from None


def named_config_path(subdir, name, option):
    """The path of ``config/<subdir>/<name>.yaml``; an unknown name is a ConfigError listing the known ones."""
    if name is None:
        raise ConfigError(f"{option} is required; choose one of: {', '.join(available_configs(subdir))}")
    path = os.path.join(CONFIG_DIR, subdir, f"{name}.yaml")
    if not os.path.isfile(path):
        raise ConfigError(
            f"unknown {option} '{name}'; choose one of: {', '.join(available_configs(subdir))}"
        )
    return path


def load_named_config(subdir, name, option):
    """Load ``config/<subdir>/<name>.yaml``; an unknown name is a ConfigError listing the known ones."""
    return load_yaml(named_config_path(subdir, name, option))


def merge_layer(base, layer, where, allow_new_keys):
    """Deep-merge ``layer`` into a copy of ``base``.

    With ``allow_new_keys`` False, a key of ``layer`` that ``base`` lacks is a ConfigError
    (``where`` names the layer in the message). Nested dicts merge key by key.
    """
    merged = copy.deepcopy(base)
    for key, value in layer.items():
        if key not in merged:
            if not allow_new_keys:
                raise ConfigError(f"unknown config key '{key}' in {where}")
            merged[key] = copy.deepcopy(value)
        elif isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = merge_layer(merged[key], value, f"{where} under '{key}'", allow_new_keys)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def layered_config(alg_name, env_name):
    """default.yaml < envs/<env>.yaml < the alg file's bases (its ``base``) < algs/<alg>.yaml.

    Env and alg files may only set keys that default.yaml declares, except inside
    ``env_args`` (its keys are the env's own) which the env file declares.
    """
    config = load_yaml(os.path.join(CONFIG_DIR, "default.yaml"))
    env_config = load_named_config("envs", env_name, "--env-config")
    alg_layers = load_alg_layers(alg_name)
    env_args = env_config.pop("env_args", {})
    config = merge_layer(config, env_config, f"envs/{env_name}.yaml", allow_new_keys=False)
    config["env_args"] = merge_layer(config.get("env_args") or {}, env_args, "env_args", True)
    for alg_config, alg_file in alg_layers:  # the bases first, --config's own file last
        alg_config, problems = translate_pymarl_keys(alg_config, config)
        if problems:
            raise ConfigError(f"{alg_file}: " + "; ".join(problems))
        config = merge_layer(config, alg_config, alg_file, allow_new_keys=False)
    return config


def alg_file_path(alg, relative_to, named_by=None):
    """``(path, name for messages)`` of ``--config`` (``named_by`` None) or of a base that the file
    ``named_by`` names: a name in config/algs/ (``qmix``), or a YAML path (``.yaml``/``.yml``), a
    relative one taken from the folder ``relative_to``. No such file: a ConfigError."""
    if alg is not None and alg.endswith((".yaml", ".yml")):
        path = os.path.join(relative_to, alg)
        if named_by is None:
            if not os.path.isfile(path):
                raise ConfigError(f"--config file {alg} does not exist")
            return path, alg
        if not os.path.isfile(path):
            raise ConfigError(f"{named_by}: base file {path} does not exist")
        return path, os.path.normpath(path)
    if named_by is None:
        return named_config_path("algs", alg, "--config"), f"algs/{alg}.yaml"
    path = os.path.join(CONFIG_DIR, "algs", f"{alg}.yaml")
    if not os.path.isfile(path):
        raise ConfigError(f"{named_by}: unknown base '{alg}'; choose one of: {', '.join(available_configs('algs'))}")
    return path, f"algs/{alg}.yaml"


def load_alg_layers(alg_name):
    """``[(contents, name for messages), ...]`` of ``--config`` in layering order, later wins (an alg
    file written for PyMARL2 works as a name or a path: utils/pymarl_keys.py).

    A file's optional top-level ``base`` (an alg name, a YAML path relative to the file, or a list
    of them) puts those files under it, in the list's order, each after its own bases; a file
    reached twice is layered once, at its first place (so ``base: [vdn, mast_qmix]`` layers
    qmix, vdn, rigl_qmix, mast_qmix: vdn and mast_qmix both start from qmix). ``base`` is taken
    out of the contents. A missing base or a cycle is a one-line ConfigError."""
    layers, done = [], set()

    def visit(path, where, chain):
        key = os.path.realpath(path)
        if key in (seen for seen, _ in chain):
            cycle = " -> ".join([name for _, name in chain] + [where])
            raise ConfigError(f"{chain[0][1]}: base cycle {cycle}")
        if key in done:
            return
        contents = load_yaml(path)
        if not isinstance(contents, dict):
            raise ConfigError(f"{where} must hold key: value lines, got {type(contents).__name__}")
        bases = contents.pop("base", None)
        bases = [] if bases is None else [bases] if isinstance(bases, str) else bases
        if not isinstance(bases, list) or not all(isinstance(base, str) for base in bases):
            raise ConfigError(f"{where}: base must be an alg name or a list of them, got {bases!r}")
        for base in bases:
            visit(*alg_file_path(base, os.path.dirname(path), named_by=where), chain + [(key, where)])
        done.add(key)
        layers.append((contents, where))

    visit(*alg_file_path(alg_name, os.getcwd()), [])
    return layers


def _type_name(value):
    return type(value).__name__


def check_types(declared, final, path=""):
    """Every key of ``final`` must be declared with a value of a compatible type.

    Compatible: the same type; an int where a float is declared; anything where the
    declared value is None (optional keys); lists of any content for lists. None is
    accepted only where the declared value is None.
    """
    for key, value in final.items():
        name = f"{path}{key}"
        if key not in declared:
            raise ConfigError(f"unknown config key '{name}'")
        expected = declared[key]
        if expected is None:
            continue
        if value is None:
            raise ConfigError(f"config key '{name}' must be {_type_name(expected)}, got None")
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{name}' must be a mapping, got {value!r}")
            check_types(expected, value, f"{name}.")
            continue
        if isinstance(expected, bool) != isinstance(value, bool):
            raise ConfigError(
                f"config key '{name}' must be {_type_name(expected)}, got {value!r} ({_type_name(value)})"
            )
        if isinstance(expected, float) and isinstance(value, int):
            continue
        if not isinstance(value, type(expected)):
            raise ConfigError(
                f"config key '{name}' must be {_type_name(expected)}, got {value!r} ({_type_name(value)})"
            )


def to_namespace(config):
    """Recursive SimpleNamespace view of a config dict (``args.sparse.sparsity``)."""
    if isinstance(config, dict):
        return SimpleNamespace(**{key: to_namespace(value) for key, value in config.items()})
    if isinstance(config, list):
        return [to_namespace(item) for item in config]
    return config


def to_dict(namespace):
    """Inverse of :func:`to_namespace`."""
    if isinstance(namespace, SimpleNamespace):
        return {key: to_dict(value) for key, value in vars(namespace).items()}
    if isinstance(namespace, list):
        return [to_dict(item) for item in namespace]
    return namespace
