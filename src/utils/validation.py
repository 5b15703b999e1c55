"""Checks of a fully layered config's values, run before any training work."""

from utils.config import ConfigError


def _require(condition, message):
    if not condition:
        raise ConfigError(message)


def _choice(config, key, allowed):
    value = config[key]
    _require(value in allowed, f"{key} '{value}' is not one of: {', '.join(sorted(allowed))}")


def validate_config(config):
    """Raise ConfigError naming the first bad value; the registries define what exists."""
    from components import BUFFER_REGISTRY
    from components.action_selectors import REGISTRY as SELECTOR_REGISTRY
    from controllers import REGISTRY as MAC_REGISTRY
    from envs import REGISTRY as ENV_REGISTRY
    from learners import REGISTRY as LEARNER_REGISTRY
    from modules.agents import REGISTRY as AGENT_REGISTRY
    from modules.mixers import REGISTRY as MIXER_REGISTRY
    from runners import REGISTRY as RUNNER_REGISTRY

    _choice(config, "env", ENV_REGISTRY)
    _choice(config, "runner", RUNNER_REGISTRY)
    _choice(config, "mac", MAC_REGISTRY)
    _choice(config, "agent", AGENT_REGISTRY)
    _choice(config, "mixer", MIXER_REGISTRY)
    _choice(config, "learner", LEARNER_REGISTRY)
    _choice(config, "buffer", BUFFER_REGISTRY)
    _choice(config, "action_selector", SELECTOR_REGISTRY)
    _choice(config, "optimizer", {"adam", "rmsprop"})

    for key in ("t_max", "batch_size_run", "buffer_size", "batch_size", "test_nepisode", "test_interval",
                "log_interval", "runner_log_interval", "learner_log_interval", "rnn_hidden_dim",
                "mixing_embed_dim", "hypernet_embed", "target_update_interval", "save_model_interval",
                "torch_threads"):
        _require(config[key] > 0, f"{key} must be positive, got {config[key]}")
    _require(config["batch_size"] <= config["buffer_size"],
             f"batch_size ({config['batch_size']}) must not exceed buffer_size ({config['buffer_size']})")
    _require(0.0 <= config["gamma"] <= 1.0, f"gamma must lie in [0, 1], got {config['gamma']}")
    _require(0.0 <= config["td_lambda"] <= 1.0, f"td_lambda must lie in [0, 1], got {config['td_lambda']}")
    for key in ("epsilon_start", "epsilon_finish"):
        _require(0.0 <= config[key] <= 1.0, f"{key} must lie in [0, 1], got {config[key]}")
    _require(config["epsilon_anneal_time"] >= 0, "epsilon_anneal_time must be >= 0")
    _require(config["lr"] > 0, f"lr must be positive, got {config['lr']}")
    _require(config["grad_norm_clip"] > 0, f"grad_norm_clip must be positive, got {config['grad_norm_clip']}")
    _require(config["load_step"] >= 0, f"load_step must be >= 0, got {config['load_step']}")
    _require(not config["evaluate"] or config["checkpoint_path"],
             "evaluate=True needs checkpoint_path=<dir of a saved run> (nothing to evaluate otherwise)")
