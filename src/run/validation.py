"""Checks of a fully layered config's values, run before any training work."""

import importlib.util

from components import BUFFER_REGISTRY
from components.action_selectors import REGISTRY as SELECTOR_REGISTRY
from components.dual_buffer import split_batch
from components.schedules import in_env_steps
from controllers import REGISTRY as MAC_REGISTRY
from envs import REGISTRY as ENV_REGISTRY
from envs import VECTOR_ENVS
from learners import REGISTRY as LEARNER_REGISTRY
from learners.optimizers import OPTIMIZERS
from learners.targets import SOFT_MELLOWMAX_SCALES, TARGET_OPERATORS
from learners.wqmix_learner import WEIGHTINGS
from modules.agents import REGISTRY as AGENT_REGISTRY
from modules.mixers import REGISTRY as MIXER_REGISTRY
from runners import REGISTRY as RUNNER_REGISTRY
from sparse.distributions import DISTRIBUTIONS
from sparse.masks import MASK_INITS, WEIGHT_SCALES
from sparse.topology import DROP_SCHEDULES, METHODS
from utils.config import ConfigError


WANDB_MODES = ("online", "offline", "disabled")


def _require(condition, message):
    if not condition:
        raise ConfigError(message)


def _choice(config, key, allowed):
    value = config[key]
    _require(value in allowed, f"{key} '{value}' is not one of: {', '.join(sorted(allowed))}")


def validate_config(config):
    """Raise ConfigError naming the first bad value; the registries define what exists."""
    _choice(config, "env", ENV_REGISTRY)
    _choice(config, "runner", RUNNER_REGISTRY)
    _require(config["runner"] != "vectorized" or config["env"] in VECTOR_ENVS,
             f"runner 'vectorized' needs an env with a vectorised form ({', '.join(sorted(VECTOR_ENVS))}), "
             f"not '{config['env']}': use runner=parallel or runner=episode")
    _require(config["seed"] is None or (isinstance(config["seed"], int) and not isinstance(config["seed"], bool)),
             f"seed must be an integer or null, got {config['seed']!r}")
    _require(config["seed"] is None or 0 <= config["seed"] < 2**32,
             f"seed must lie in [0, 2**32), got {config['seed']}")
    _require(config["wandb_mode"] in WANDB_MODES,
             f"wandb_mode must be one of {', '.join(WANDB_MODES)}, got {config['wandb_mode']!r}")
    _require(not config["use_wandb"] or config["wandb_project"], "use_wandb is True but wandb_project is empty")
    _require(not config["use_wandb"] or importlib.util.find_spec("wandb") is not None,
             "use_wandb is True but the package 'wandb' is not installed: pip install wandb")
    _require(config["num_cpus"] > 0 and config["num_gpus"] >= 0,
             f"num_cpus must be > 0 and num_gpus >= 0, got {config['num_cpus']} and {config['num_gpus']}")
    name = config["name"]
    _require(isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name,
             f"name must be a plain folder name (no path separators, not '.' or '..'), got {name!r}")
    _require(config["parallel_worker_timeout"] > 0,
             f"parallel_worker_timeout must be positive, got {config['parallel_worker_timeout']}")
    _require(config["optim_eps"] > 0, f"optim_eps must be positive, got {config['optim_eps']}")
    _choice(config, "mac", MAC_REGISTRY)
    _choice(config, "agent", AGENT_REGISTRY)
    _choice(config, "mixer", MIXER_REGISTRY)
    _choice(config, "learner", LEARNER_REGISTRY)
    _choice(config, "buffer", BUFFER_REGISTRY)
    _choice(config, "action_selector", SELECTOR_REGISTRY)
    _choice(config, "optimizer", OPTIMIZERS)
    _choice(config, "target_operator", TARGET_OPERATORS)
    _choice(config, "sm_scale", SOFT_MELLOWMAX_SCALES)
    _choice(config, "wqmix_weighting", WEIGHTINGS)
    _choice(config, "central_mixer", MIXER_REGISTRY)

    for key in ("t_max", "batch_size_run", "buffer_size", "batch_size", "test_nepisode", "test_interval",
                "log_interval", "runner_log_interval", "learner_log_interval", "rnn_hidden_dim",
                "mixing_embed_dim", "hypernet_embed", "target_update_interval", "save_model_interval",
                "torch_threads", "on_policy_buffer_size", "central_mixing_embed_dim"):
        _require(config[key] > 0, f"{key} must be positive, got {config[key]}")
    _require(config["batch_size"] <= config["buffer_size"],
             f"batch_size ({config['batch_size']}) must not exceed buffer_size ({config['buffer_size']})")
    _require(0.0 <= config["gamma"] <= 1.0, f"gamma must lie in [0, 1], got {config['gamma']}")
    _require(0.0 < config["target_update_tau"] <= 1.0,
             f"target_update_tau must lie in (0, 1], got {config['target_update_tau']}")
    _require(0.0 <= config["td_lambda"] <= 1.0, f"td_lambda must lie in [0, 1], got {config['td_lambda']}")
    validate_lambda_schedule(config["td_lambda_schedule"], config["t_max"])
    _require(config["sm_omega"] > 0, f"sm_omega must be positive, got {config['sm_omega']}")
    _require(config["sm_alpha"] >= 0, f"sm_alpha must be >= 0, got {config['sm_alpha']}")
    _require(0.0 < config["wqmix_alpha"] <= 1.0, f"wqmix_alpha must lie in (0, 1], got {config['wqmix_alpha']}")
    _require(config["res_beta"] >= 0, f"res_beta must be >= 0, got {config['res_beta']}")
    _require(config["res_lambda"] >= 0, f"res_lambda must be >= 0, got {config['res_lambda']}")
    _require(0.0 <= config["on_policy_fraction"] <= 1.0,
             f"on_policy_fraction must lie in [0, 1], got {config['on_policy_fraction']}")
    if config["buffer"] == "dual":
        validate_dual_buffer(config)
    for key in ("epsilon_start", "epsilon_finish"):
        _require(0.0 <= config[key] <= 1.0, f"{key} must lie in [0, 1], got {config[key]}")
    _require(config["epsilon_anneal_time"] >= 0, "epsilon_anneal_time must be >= 0")
    _require(config["lr"] > 0, f"lr must be positive, got {config['lr']}")
    _require(config["grad_norm_clip"] > 0, f"grad_norm_clip must be positive, got {config['grad_norm_clip']}")
    _require(config["load_step"] >= 0, f"load_step must be >= 0, got {config['load_step']}")
    _require(not config["evaluate"] or config["checkpoint_path"],
             "evaluate=True needs checkpoint_path=<dir of a saved run> (nothing to evaluate otherwise)")
    _require(not config["mongo_url"] or config["mongo_db"], "mongo_url is set but mongo_db is empty")
    validate_sparse(config["sparse"])


def validate_lambda_schedule(schedule, t_max):
    """``td_lambda_schedule``: [] or ``[[t, lambda], ...]`` starting at t = 0, t increasing (each an
    env step or a fraction of ``t_max``), lambdas in [0, 1]."""
    if not schedule:
        return
    shape_ok = all(isinstance(step, list) and len(step) == 2 for step in schedule)
    _require(shape_ok, f"td_lambda_schedule must be a list of [t_env, lambda] pairs, got {schedule}")
    given = [step[0] for step in schedule]
    for t in given:
        is_step = isinstance(t, int) and not isinstance(t, bool)
        is_fraction = isinstance(t, float) and 0.0 <= t <= 1.0
        _require(is_step or is_fraction, f"td_lambda_schedule points must be whole env steps or fractions of "
                                         f"t_max in [0, 1] (0.1 = after a tenth of training), got {t!r}")
    starts = [t for t, _ in in_env_steps(schedule, t_max)]
    _require(starts[0] == 0, f"td_lambda_schedule must start at t_env 0, got {starts[0]}")
    _require(all(a < b for a, b in zip(starts, starts[1:])),
             f"td_lambda_schedule steps must be strictly increasing, got {starts}")
    for _, value in schedule:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        _require(is_number and 0.0 <= value <= 1.0, f"td_lambda_schedule lambdas must lie in [0, 1], got {value!r}")


def validate_dual_buffer(config):
    """Both parts of a dual-buffer batch must fit their buffers."""
    on_policy, off_policy = split_batch(config["batch_size"], config["on_policy_fraction"])
    _require(on_policy <= config["on_policy_buffer_size"],
             f"on_policy_buffer_size ({config['on_policy_buffer_size']}) must hold the {on_policy} recent "
             f"episodes of each batch (on_policy_fraction {config['on_policy_fraction']} x batch_size {config['batch_size']})")
    _require(off_policy <= config["buffer_size"],
             f"buffer_size ({config['buffer_size']}) must hold the {off_policy} off-policy episodes of each batch")


def validate_sparse(sparse):
    """Values of the ``sparse`` block; ``dense_layers`` names are checked against the networks
    when they are built (:func:`sparse.masks.maskable_weights`)."""
    _require(0.0 <= sparse["sparsity"] < 1.0, f"sparse.sparsity must lie in [0, 1), got {sparse['sparsity']}")
    for key, allowed in (("distribution", DISTRIBUTIONS), ("method", METHODS),
                         ("drop_schedule", DROP_SCHEDULES), ("init", MASK_INITS),
                         ("init_scale", WEIGHT_SCALES)):
        _require(sparse[key] in allowed, f"sparse.{key} '{sparse[key]}' is not one of: {', '.join(allowed)}")
    _require(sparse["update_interval"] > 0, f"sparse.update_interval must be positive, got {sparse['update_interval']}")
    _require(0.0 <= sparse["drop_fraction"] <= 1.0,
             f"sparse.drop_fraction must lie in [0, 1], got {sparse['drop_fraction']}")
    _require(0.0 <= sparse["stop_fraction"] <= 1.0,
             f"sparse.stop_fraction must lie in [0, 1], got {sparse['stop_fraction']}")
    for network, value in sparse["network_sparsity"].items():
        is_sparsity = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < 1.0
        _require(value is None or is_sparsity,
                 f"sparse.network_sparsity.{network} must be null or lie in [0, 1), got {value!r}")
    _require(all(isinstance(name, str) for name in sparse["dense_layers"]),
             f"sparse.dense_layers must be a list of layer names, got {sparse['dense_layers']}")
