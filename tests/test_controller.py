"""The controller builds the same agent inputs step by step as for a whole episode."""

from types import SimpleNamespace

import torch

from controllers.n_controller import NMAC


def controller():
    args = SimpleNamespace(
        n_agents=2, n_actions=3, obs_last_action=True, obs_agent_id=True, agent="n_rnn", rnn_hidden_dim=4, use_rnn=True,
        action_selector="epsilon_greedy", epsilon_start=1.0, epsilon_finish=0.05, epsilon_anneal_time=10,
        test_greedy=True,
    )
    return NMAC({"obs": {"vshape": 5}, "actions_onehot": {"vshape": (3,)}}, {"agents": 2}, args)


def random_batch(episodes, steps):
    """Observations and one-hot actions of 2 agents, 3 actions, as the controller reads them."""
    return {
        "obs": torch.randn(episodes, steps, 2, 5),
        "actions_onehot": torch.nn.functional.one_hot(torch.randint(0, 3, (episodes, steps, 2)), 3).float(),
    }


def test_step_inputs_equal_sequence_inputs_and_carry_the_previous_action():
    torch.manual_seed(0)
    mac = controller()
    batch = random_batch(4, 6)
    whole = mac._build_inputs(batch, slice(None))
    stepwise = torch.cat([mac._build_inputs(batch, slice(t, t + 1)) for t in range(6)], dim=1)
    assert torch.equal(whole, stepwise)
    assert torch.equal(whole[..., :5], batch["obs"])
    assert whole[:, 0, :, 5:8].abs().sum() == 0  # no previous action at the first step
    assert torch.equal(whole[:, 1:, :, 5:8], batch["actions_onehot"][:, :-1])
    assert torch.equal(whole[0, 0, :, 8:], torch.eye(2))  # agent ids


def test_unroll_matches_stepping_the_agent():
    torch.manual_seed(1)
    mac = controller()
    batch = random_batch(3, 5)
    unrolled = mac.unroll(batch)
    hidden = mac.agent.init_hidden(3 * 2)
    for t in range(5):
        inputs = mac._build_inputs(batch, slice(t, t + 1))[:, 0].reshape(6, -1)
        qs, hidden = mac.agent(inputs, hidden)
        assert torch.allclose(unrolled[:, t], qs.view(3, 2, -1), atol=1e-6)
