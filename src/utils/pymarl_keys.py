"""PyMARL2's and EPyMARL's algorithm keys in an alg YAML written for either (PyMARL2's qmix,
vdn, ow_qmix, cw_qmix; EPyMARL's qmix, vdn, qmix_ns, vdn_ns).

A PyMARL2 or EPyMARL user's YAML copied into ``src/config/algs/`` (or given by path to
``--config``) runs unchanged: its keys that name the same thing differently are translated
(:data:`RENAMED`, :data:`RENAMED_VALUES`, :data:`CONVERTED`); its keys for choices this
framework makes one way only are accepted when they hold that choice (:data:`FIXED_HERE`),
and the parameters of those switches with them (:data:`INERT_HERE`); any other value of
those, and any key that is neither ours nor a mapped one, is named (config.py reports them
all in one line).
"""

# PyMARL2's or EPyMARL's key -> ours, with its value as it is.
RENAMED = {"w": "wqmix_alpha", "hidden_dim": "rnn_hidden_dim"}
# PyMARL2's or EPyMARL's key -> (our key, {its value: ours}); another value is not supported.
RENAMED_VALUES = {
    "hysteretic_qmix": ("wqmix_weighting", {True: "ow", False: "cw"}),
    "learner": ("learner", {"max_q_learner": "wqmix_learner"}),
    "central_mixer": ("central_mixer", {"ff": "central_ff"}),
    "mac": ("mac", {"basic_mac": "n_mac", "non_shared_mac": "n_mac"}),  # n_mac runs rnn_ns's per-agent networks
    "agent": ("agent", {"rnn": "n_rnn"}),
}
# PyMARL2's or EPyMARL's key -> the one value this framework implements (its behaviour for that value).
FIXED_HERE = {
    "agent_output_type": "q",  # value-based agents only
    "q_lambda": False,  # TD(lambda) of the target network's values, not Peng's Q(lambda)
    "hypernet_layers": 2,  # QMIX's hypernetworks: two layers
    "central_loss": 1,  # WQMIX's loss: QMIX's weighted loss + Q*'s loss, each with weight 1
    "qmix_loss": 1,
    "central_action_embed": 1,  # Q*'s agent network: one value per action
    "central_mac": "basic_central_mac",  # Q*'s agents: the agent architecture, its own weights
    "central_agent": "central_rnn",
    "use_layer_norm": False,  # the agent's GRU without layer normalisation
    "use_orthogonal": False,  # PyTorch's default initialisation, not orthogonal
    "use_per": False,  # uniform replay, not prioritised
    # EPyMARL's
    "evaluation_epsilon": 0.0,  # greedy tests (test_greedy)
    "obs_individual_obs": False,  # its actor-critics' critic input; no critic here
    "standardise_returns": False,  # standardise_rewards is implemented, return standardisation not
    "common_reward": True,  # the learners train on the team reward (EPyMARL's QMIX and VDN require it)
}
# PyMARL2 keys read only under a switch of FIXED_HERE: accepted and unused, as in PyMARL2 with
# that switch off (a switch set on is named). use_orthogonal's gain; use_per's exponents and
# return_priority (priorities from returns rather than TD errors).
INERT_HERE = {"gain", "per_alpha", "per_beta", "return_priority"}
# PyMARL2 key -> our key whose value it must equal.
SAME_AS = {"central_rnn_hidden_dim": "rnn_hidden_dim"}  # Q*'s agent network has the agent's width


def _target_update(value):
    """EPyMARL's ``target_update_interval_or_tau``. At 1 or above: hard copies every that many
    learner updates, our ``target_update_interval``, which counts episodes (the same with one
    episode per update, ``batch_size_run`` 1, as in EPyMARL's value-based YAMLs). Below 1:
    soft updates after every learner update with that tau, our ``target_update_tau``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None, f"{value!r} (a positive interval >= 1, or a tau in (0, 1) for soft updates)"
    if value < 1:
        return "target_update_tau", float(value)
    return "target_update_interval", int(value)


# EPyMARL key -> (value -> (our key, our value), or (None, why not)).
CONVERTED = {"target_update_interval_or_tau": _target_update}


def translate_pymarl_keys(alg_config, declared):
    """``(alg_config with PyMARL2's and EPyMARL's keys in ours, problems)``: each problem names a key
    it cannot take.

    ``declared``: the config so far (default.yaml and the env's), whose keys are ours."""
    translated, problems, unknown = {}, [], []
    for key, value in alg_config.items():
        if key in RENAMED:
            translated[RENAMED[key]] = value
        elif key in RENAMED_VALUES and value in RENAMED_VALUES[key][1]:
            our_key, values = RENAMED_VALUES[key]
            translated[our_key] = values[value]
        elif key in CONVERTED:
            our_key, converted = CONVERTED[key](value)
            if our_key is None:
                problems.append(f"{key}: {converted}")
            else:
                translated[our_key] = converted
        elif key in FIXED_HERE:
            if value != FIXED_HERE[key]:
                problems.append(f"{key}: {value!r} (only {FIXED_HERE[key]!r} is implemented here)")
        elif key in INERT_HERE:
            continue
        elif key in SAME_AS:
            ours = alg_config.get(SAME_AS[key], declared[SAME_AS[key]])
            if value != ours:
                problems.append(f"{key}: {value!r} (here it is {SAME_AS[key]}, {ours!r})")
        elif key in declared:
            translated[key] = value
        else:
            unknown.append(key)
    if unknown:
        problems.insert(0, f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                           "(neither this framework's nor a PyMARL2 or EPyMARL key it maps)")
    return translated, problems
