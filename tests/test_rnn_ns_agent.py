"""The agent with one network per agent (``agent: rnn_ns``): each agent's Qs are those of an
``n_rnn`` network holding its slice of the weights; sparse, each per-agent tensor is one
masked layer whose connections move between agents, and the FLOPs count one agent's share.
(tests/test_jax_rollout.py plays its greedy episodes in JAX against the torch path.)"""

from types import SimpleNamespace

import torch

from modules.agents import REGISTRY as AGENT_REGISTRY
from sparse.flops import forward_flops
from sparse_setup import make_learner, random_batch, sparse_args

ARGS = SimpleNamespace(rnn_hidden_dim=8, n_actions=5, n_agents=3, use_rnn=True)
AGENT_WEIGHTS = ["agent.fc1.weight", "agent.rnn.weight_ih", "agent.rnn.weight_hh", "agent.fc2.weight"]


def shared_copies(agent):
    """One ``n_rnn`` agent per agent, each loaded with its slice of ``agent``'s weights."""
    copies = []
    for index in range(ARGS.n_agents):
        copy = AGENT_REGISTRY["n_rnn"](agent.fc1.weight.shape[-1], ARGS)
        copy.load_state_dict({name: value[index] for name, value in agent.state_dict().items()})
        copies.append(copy)
    return copies


def test_each_agent_acts_with_its_own_network():
    torch.manual_seed(0)
    agent = AGENT_REGISTRY["rnn_ns"](7, ARGS)
    copies = shared_copies(agent)
    # four episodes of three agents, rows agent index fastest as the controller lays them out
    lengths = torch.tensor([6, 4, 4, 1]).repeat_interleave(ARGS.n_agents)
    inputs = torch.randn(len(lengths), 6, 7)
    qs = agent.forward_sequence(inputs, agent.init_hidden(len(lengths)), lengths)
    step_qs, _ = agent(inputs[:, 0], agent.init_hidden(len(lengths)))
    for row in range(len(lengths)):
        own = copies[row % ARGS.n_agents]
        expected = own.forward_sequence(inputs[row: row + 1], own.init_hidden(1), lengths[row: row + 1])[0]
        assert torch.allclose(qs[row], expected, atol=1e-6), row
        assert torch.allclose(step_qs[row], own(inputs[row: row + 1, 0], own.init_hidden(1))[0][0], atol=1e-6)
    # no weight is shared: the agents' networks differ
    assert not torch.allclose(agent.fc1.weight[0], agent.fc1.weight[1])


def test_each_per_agent_tensor_is_one_masked_layer_whose_connections_move_between_agents():
    learner = make_learner(sparse_args(method="rigl", update_interval=1, drop_fraction=0.3, agent="rnn_ns"))
    trainer = learner.sparse
    assert [name for name in trainer.weights if name.startswith("agent.")] == AGENT_WEIGHTS
    n_agents = learner.args.n_agents
    for name in AGENT_WEIGHTS:
        weight = trainer.weights[name]
        assert weight.shape[0] == n_agents
        assert int(trainer.masks[name].sum()) == round(0.1 * weight.numel()), name
    for name, bias in learner.mac.agent.named_parameters():
        if "bias" in name:
            assert int(torch.count_nonzero(bias)) == bias.numel(), name  # [agents, out], never masked
    totals = {name: int(trainer.masks[name].sum()) for name in AGENT_WEIGHTS}
    per_agent_before = {name: trainer.masks[name].sum(dim=(1, 2)).clone() for name in AGENT_WEIGHTS}
    batch = random_batch(learner.args)
    for update in range(20):
        learner.train(batch, t_env=update * 10, episode_num=update + 1)
    moved = 0
    for name in AGENT_WEIGHTS:
        assert int(trainer.masks[name].sum()) == totals[name], name  # the layer's total stays exact
        moved += int((trainer.masks[name].sum(dim=(1, 2)) != per_agent_before[name]).sum())
    assert moved > 0  # some agent gained connections that another lost


def test_flops_count_one_agents_share_of_the_per_agent_weights():
    torch.manual_seed(0)
    per_agent, shared = AGENT_REGISTRY["rnn_ns"](7, ARGS), AGENT_REGISTRY["n_rnn"](7, ARGS)
    dense_shared = forward_flops(shared, {}, "agent")
    dense_per_agent = forward_flops(per_agent, {}, "agent")
    assert dense_per_agent.dense == dense_per_agent.sparse == dense_shared.dense
    # one agent's step costs its own weights: the agents' mean count of nonzeros
    nonzeros = {"agent.fc1.weight": 30, "agent.rnn.weight_ih": 60, "agent.rnn.weight_hh": 90, "agent.fc2.weight": 15}
    sparse_per_agent = forward_flops(per_agent, nonzeros, "agent")
    sparse_shared = forward_flops(shared, {name: count / 3 for name, count in nonzeros.items()}, "agent")
    assert sparse_per_agent.sparse == sparse_shared.sparse
    assert sparse_per_agent.sparse < dense_shared.dense
