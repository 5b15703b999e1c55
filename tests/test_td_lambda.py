"""build_td_lambda_targets against values worked out by hand (gamma 0.9)."""

import pytest
import torch

from utils.rl_utils import build_td_lambda_targets

GAMMA = 0.9


def targets(rewards, terminated, mask, target_qs, td_lambda):
    as_column = lambda values: torch.tensor(values, dtype=torch.float64).view(1, -1, 1)  # noqa: E731
    result = build_td_lambda_targets(
        as_column(rewards), as_column(terminated), as_column(mask), as_column(target_qs), 3, GAMMA, td_lambda
    )
    return result.view(-1).tolist()


def test_terminal_last_step_is_not_bootstrapped():
    # G2 = 3; G1 = .45*3 + 2 + .45*30 = 16.85; G0 = .45*16.85 + 1 + .45*20 = 17.5825
    result = targets([1, 2, 3], [0, 0, 1], [1, 1, 1], [10, 20, 30, 40], td_lambda=0.5)
    assert result == pytest.approx([17.5825, 16.85, 3.0])


def test_time_limit_bootstraps_from_the_last_state():
    # G3 = Q3 = 40; G2 = .45*40 + 3 + .45*40 = 39; G1 = .45*39 + 2 + .45*30 = 33.05
    # G0 = .45*33.05 + 1 + .45*20 = 24.8725
    result = targets([1, 2, 3], [0, 0, 0], [1, 1, 1], [10, 20, 30, 40], td_lambda=0.5)
    assert result == pytest.approx([24.8725, 33.05, 39.0])


def test_padding_after_the_end_gives_zero_and_does_not_leak():
    # episode of 2 steps in a 3-step batch: G2 = 0 (padding), G1 = 2, G0 = .45*2 + 1 + .45*20 = 10.9
    padded = targets([1, 2, 0], [0, 1, 0], [1, 1, 0], [10, 20, 30, 40], td_lambda=0.5)
    assert padded == pytest.approx([10.9, 2.0, 0.0])
    # huge values in the padded states change nothing
    assert targets([1, 2, 0], [0, 1, 0], [1, 1, 0], [10, 20, 1e6, 1e6], td_lambda=0.5) == pytest.approx(padded)


def test_lambda_zero_gives_one_step_targets():
    result = targets([1, 2, 3], [0, 0, 1], [1, 1, 1], [10, 20, 30, 40], td_lambda=0.0)
    assert result == pytest.approx([1 + GAMMA * 20, 2 + GAMMA * 30, 3.0])


def test_lambda_one_gives_discounted_monte_carlo_returns():
    result = targets([1, 2, 3], [0, 0, 1], [1, 1, 1], [10, 20, 30, 40], td_lambda=1.0)
    assert result == pytest.approx([1 + GAMMA * 2 + GAMMA**2 * 3, 2 + GAMMA * 3, 3.0])


def test_batch_rows_are_independent():
    rewards = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 0.0]]).unsqueeze(-1)
    terminated = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]).unsqueeze(-1)
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]).unsqueeze(-1)
    target_qs = torch.tensor([[10.0, 20.0, 30.0, 40.0]] * 2).unsqueeze(-1)
    result = build_td_lambda_targets(rewards, terminated, mask, target_qs, 3, GAMMA, 0.5).squeeze(-1)
    assert result[0].tolist() == pytest.approx([17.5825, 16.85, 3.0])
    assert result[1].tolist() == pytest.approx([10.9, 2.0, 0.0])
