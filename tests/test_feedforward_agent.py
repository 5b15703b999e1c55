"""EPyMARL's feed-forward agent (``use_rnn: False``): the GRU cell becomes a linear layer and a
ReLU under EPyMARL's parameter names, its Qs at a step depend on that step's input alone, whole
sequences equal step-by-step passes, and the sparse trainer masks its middle layer like any
other. (tests/test_jax_rollout.py plays its greedy episodes in JAX against the torch path.)"""

from types import SimpleNamespace

import pytest
import torch

from modules.agents import REGISTRY as AGENT_REGISTRY
from sparse.flops import forward_flops
from sparse_setup import make_args, make_learner, random_batch, sparse_args
from utils.pymarl_files import AGENT_FILE

N_AGENTS, INPUTS = 3, 7
ARGS = SimpleNamespace(rnn_hidden_dim=8, n_actions=5, n_agents=N_AGENTS, use_rnn=False)


@pytest.mark.parametrize("agent_key", ["n_rnn", "rnn_ns"])
def test_qs_depend_on_the_current_input_only_and_sequences_equal_steps(agent_key):
    torch.manual_seed(0)
    agent = AGENT_REGISTRY[agent_key](INPUTS, ARGS)
    lengths = torch.tensor([5, 3]).repeat_interleave(N_AGENTS)  # two episodes, rows agent index fastest
    inputs = torch.randn(len(lengths), 5, INPUTS)
    qs = agent.forward_sequence(inputs, agent.init_hidden(len(lengths)), lengths)
    hidden = torch.randn(len(lengths), ARGS.rnn_hidden_dim)  # ignored: there is no memory
    for step in range(5):
        step_qs, hidden = agent(inputs[:, step], hidden)
        live = lengths > step
        assert torch.allclose(qs[live, step], step_qs[live], atol=1e-6), step
        assert torch.all(qs[~live, step] == 0)  # after a row's end: padding
    earlier_changed = inputs.clone()
    earlier_changed[:, :4] = torch.randn(len(lengths), 4, INPUTS)
    again = agent.forward_sequence(earlier_changed, agent.init_hidden(len(lengths)), lengths)
    assert torch.allclose(again[:N_AGENTS, 4], qs[:N_AGENTS, 4], atol=1e-6)


def test_parameters_carry_epymarls_names_and_shapes():
    agent = AGENT_REGISTRY["n_rnn"](INPUTS, ARGS)
    hidden, actions = ARGS.rnn_hidden_dim, ARGS.n_actions
    assert {name: tuple(value.shape) for name, value in agent.state_dict().items()} == {
        "fc1.weight": (hidden, INPUTS), "fc1.bias": (hidden,), "rnn.weight": (hidden, hidden), "rnn.bias": (hidden,),
        "fc2.weight": (actions, hidden), "fc2.bias": (actions,)}
    # the FLOPs of a step: three linear layers (weights twice, biases once)
    assert forward_flops(agent, {}, "agent").dense == 2 * (hidden * INPUTS + hidden * hidden + actions * hidden) + (
        2 * hidden + actions)


@pytest.mark.parametrize("agent_key", ["n_rnn", "rnn_ns"])
def test_the_middle_layer_is_masked_and_trained_sparse(agent_key):
    args = sparse_args(method="rigl", update_interval=1, drop_fraction=0.3, agent=agent_key)
    args.use_rnn = False
    learner = make_learner(args)
    trainer = learner.sparse
    assert [name for name in trainer.weights if name.startswith("agent.")] == [
        "agent.fc1.weight", "agent.rnn.weight", "agent.fc2.weight"]
    middle = trainer.weights["agent.rnn.weight"]
    assert int(trainer.masks["agent.rnn.weight"].sum()) == round(0.1 * middle.numel())
    mask_before = trainer.masks["agent.rnn.weight"].clone()
    batch = random_batch(learner.args)
    for update in range(5):
        learner.train(batch, t_env=update * 10, episode_num=update + 1)
    assert not torch.equal(trainer.masks["agent.rnn.weight"], mask_before)  # its topology evolves
    assert torch.all(middle[trainer.masks["agent.rnn.weight"] == 0] == 0)  # and its masked weights stay zero


def test_an_agent_file_of_the_other_kind_is_named_with_the_setting_to_use(tmp_path):
    feedforward_args, recurrent_args = make_args(), make_args()
    feedforward_args.use_rnn = False
    torch.save(make_learner(feedforward_args).mac.agent.state_dict(), tmp_path / AGENT_FILE)
    with pytest.raises(ValueError, match=r"\(its agent is feed-forward, EPyMARL's use_rnn: False: run with "
                                         r"use_rnn=False\)$"):
        make_learner(recurrent_args).load_pymarl_files(str(tmp_path), with_optimizer=False)
