"""PyMARL2's checkpoint files: ``agent.th``, ``mixer.th`` and ``opt.th``.

PyMARL2 (and EPyMARL) save a step as ``<checkpoint_path>/<t_env>/`` holding the state dicts
of the agent module (``agent.th``), the mixer (``mixer.th``) and the optimizer (``opt.th``).
Every step saved here holds them too, beside the complete checkpoint, so that scripts written
for PyMARL2 keep working; and a directory of PyMARL2's steps can be evaluated, or used to
start training, with ``checkpoint_path``.

- ``agent.th``: the shared agent network under PyMARL2's names (``n_rnn``: ``fc1``, ``rnn``
  a GRUCell, ``fc2``); a sparse run's file holds its zeros (the masks stay in the complete
  checkpoint).
- ``mixer.th``: QMIX's mixer under the names of PyMARL2's ``nmix.Mixer`` (:data:`QMIX_NAMES`;
  our names are those of the original PyMARL's QMixer, which are read as well); WQMIX's under
  the QMixer's names, ours, as PyMARL2's max_q_learner trains that mixer; VDN's has no
  parameters (an empty state dict, as PyMARL2 writes).
- ``opt.th``: the optimizer's state dict with its parameters in PyMARL2's order (the agent's,
  then the mixer's in nmix.Mixer's order; WQMIX's in ours, as max_q_learner's), then any other
  trained network's (WQMIX's central Q*'s agent network and mixer). Read back in the order its ``mixer.th``'s names
  imply (nmix.Mixer's, or the original PyMARL's, ours); the run keeps its own optimizer
  settings (lr, ...), and an optimizer of another kind is refused.
"""

import os

import torch

AGENT_FILE, MIXER_FILE, OPTIMIZER_FILE = "agent.th", "mixer.th", "opt.th"

# Our QMixer's parameter prefixes and PyMARL2 nmix.Mixer's, in nmix.Mixer's order.
QMIX_NAMES = (("hyper_w_1.", "hyper_w1."), ("hyper_b_1.", "hyper_b1.0."), ("hyper_w_final.", "hyper_w2."),
              ("V.", "hyper_b2."))


def is_pymarl_step(directory):
    """Whether ``directory`` holds PyMARL2's files and not a complete checkpoint of ours."""
    return (os.path.isfile(os.path.join(directory, AGENT_FILE))
            and not os.path.isfile(os.path.join(directory, "meta.json")))


def _renamed(name, pairs):
    for old, new in pairs:
        if name.startswith(old):
            return new + name[len(old):]
    return name


def to_pymarl_mixer_names(state):
    """A QMIX mixer state dict under PyMARL2's names (a VDN's empty one as it is)."""
    return {_renamed(name, QMIX_NAMES): value for name, value in state.items()}


def from_pymarl_mixer_names(state):
    """A mixer state dict under PyMARL2's names (or the original PyMARL's, ours) in our names."""
    return {_renamed(name, [(new, old) for old, new in QMIX_NAMES]): value for name, value in state.items()}


def uses_nmix_names(mixer_state):
    """Whether a mixer state dict has PyMARL2 nmix.Mixer's names (else ours, the original PyMARL's)."""
    return any(name.startswith(theirs) for name in mixer_state for _, theirs in QMIX_NAMES)


def check_optimizer_kind(state, kind, mark):
    """A ValueError unless the saved optimizer ``state`` is a ``kind`` optimizer's (``optimizer=``),
    recognised by ``mark``, a setting only that kind has (learners/optimizers.py)."""
    if any(mark not in group for group in state["param_groups"]):
        raise ValueError(f"it holds no {kind} state (no '{mark}' setting); set optimizer= to the "
                         "kind that saved it (PyMARL2's learners save Adam's)")


def _pymarl_rank(network_name, parameter_name):
    """Sort key of a trained parameter in PyMARL2's optimizer order."""
    network_rank = {"agent": 0, "mixer": 1}.get(network_name, 2)
    prefix_rank = next((rank for rank, (ours, _) in enumerate(QMIX_NAMES) if parameter_name.startswith(ours)), 0)
    return network_rank, prefix_rank if network_name == "mixer" else 0


def pymarl_parameter_order(trained_networks):
    """For each trained parameter in our optimizer's order, its index in PyMARL2's order.

    ``trained_networks``: ``{name: module}`` in the order the optimizer was given their
    parameters (the learner's online networks)."""
    ours = [(network_name, parameter_name) for network_name, module in trained_networks.items()
            for parameter_name, _ in module.named_parameters()]
    theirs = sorted(range(len(ours)), key=lambda index: (*_pymarl_rank(*ours[index]), index))
    position = {our_index: their_index for their_index, our_index in enumerate(theirs)}
    return [position[index] for index in range(len(ours))]


def reorder_optimizer_state(state, order):
    """An optimizer state dict (one parameter group) whose parameter ``i`` becomes ``order[i]``."""
    (group,) = state["param_groups"]
    return {
        "state": {order[index]: value for index, value in state["state"].items()},
        "param_groups": [{**group, "params": sorted(order[index] for index in group["params"])}],
    }


def inverse(order):
    result = [0] * len(order)
    for index, target in enumerate(order):
        result[target] = index
    return result


def pymarl_files(agent, mixer, optimizer, trained_networks, nmix_names=True):
    """``{file name: object}`` of PyMARL2's three files for one saved step: the mixer under
    nmix.Mixer's names and order (PyMARL2's nq_learner), or with ``nmix_names=False`` under the
    original QMixer's, ours (PyMARL2's max_q_learner, WQMIX's)."""
    if not nmix_names:
        return {AGENT_FILE: agent.state_dict(), MIXER_FILE: mixer.state_dict(), OPTIMIZER_FILE: optimizer.state_dict()}
    return {
        AGENT_FILE: agent.state_dict(),
        MIXER_FILE: to_pymarl_mixer_names(mixer.state_dict()),
        OPTIMIZER_FILE: reorder_optimizer_state(optimizer.state_dict(), pymarl_parameter_order(trained_networks)),
    }


def optimizer_state_from_pymarl(saved, trained_networks, mixer_state, kind, mark):
    """A saved ``opt.th`` in our optimizer's parameter order: the order its ``mixer.th``'s names
    imply (nmix.Mixer's, or ours, the original PyMARL's); a ValueError unless it is a ``kind``
    optimizer's state (``mark``: :func:`check_optimizer_kind`) with one parameter group."""
    order = pymarl_parameter_order(trained_networks)
    state = reorder_optimizer_state(saved, inverse(order) if uses_nmix_names(mixer_state) else range(len(order)))
    check_optimizer_kind(state, kind, mark)
    return state


def agent_kind_hint(agent_state, recurrent):
    """Why an ``agent.th`` may not fit: its middle layer is the other kind (a GRU cell's
    ``rnn.weight_ih`` or EPyMARL's feed-forward ``rnn.weight``) than this run's ``use_rnn``."""
    if recurrent and "rnn.weight" in agent_state:
        return " (its agent is feed-forward, EPyMARL's use_rnn: False: run with use_rnn=False)"
    if not recurrent and "rnn.weight_ih" in agent_state:
        return " (its agent has a GRU cell: run with use_rnn=True)"
    return ""


def read_pymarl_file(directory, name):
    """The object saved in ``<directory>/<name>``; a ValueError naming the file if it is unreadable."""
    path = os.path.join(directory, name)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch reports a truncated or garbled file in many ways
        raise ValueError(f"{path} is corrupt or not a state dict: {' '.join(str(error).split())[:200]}") from None
