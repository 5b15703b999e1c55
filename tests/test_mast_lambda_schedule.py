"""The lambda schedule of the TD(lambda) targets: piecewise constant over env steps, checked
before training, and the lambda the targets use at each step."""

from types import SimpleNamespace

import pytest
import torch

from components.schedules import PiecewiseConstantSchedule
from learners.targets import TargetBuilder
from run.validation import validate_config
from utils.config import ConfigError, layered_config, merge_layer


def test_each_value_holds_from_its_step_until_the_next():
    schedule = PiecewiseConstantSchedule([[0, 0.6], [100, 0.0], [250, 0.3]])
    assert [schedule.eval(t) for t in (0, 99, 100, 101, 249, 250, 10**9)] == [0.6, 0.6, 0.0, 0.0, 0.0, 0.3, 0.3]


def test_a_schedule_must_start_at_zero():
    with pytest.raises(ValueError):
        PiecewiseConstantSchedule([[10, 0.5]])


def builder(td_lambda, schedule, t_max=10**6):
    return TargetBuilder(SimpleNamespace(double_q=True, gamma=0.9, n_agents=1, target_operator="max", sm_omega=10.0,
                                         sm_alpha=1.0, sm_scale="fixed", res_beta=5.0, td_lambda=td_lambda,
                                         td_lambda_schedule=schedule, t_max=t_max))


def test_an_empty_schedule_is_the_constant_td_lambda():
    targets = builder(0.6, [])
    assert [targets.lambda_at(t) for t in (0, 5000, 10**7)] == [0.6, 0.6, 0.6]


@pytest.mark.parametrize("schedule, before, after", [
    ([[0, 0.6], [1000, 0.0]], 0.6, 0.0),  # multi-step first
    ([[0, 0.0], [1000, 0.6]], 0.0, 0.6),  # one-step first
])
def test_hybrid_schedules_switch_the_targets_at_t0(schedule, before, after):
    targets = builder(0.3, schedule)
    assert (targets.lambda_at(999), targets.lambda_at(1000)) == (before, after)
    rewards = torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1)
    terminated = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1)
    mask = torch.ones(1, 3, 1)
    values = torch.tensor([10.0, 20.0, 30.0, 40.0]).view(1, 4, 1)
    one_step = [1 + 0.9 * 20, 2 + 0.9 * 30, 3.0]  # lambda 0: bootstrap from the next state only
    early, late = (targets.returns(rewards, terminated, mask, values, t).view(-1).tolist() for t in (0, 1000))
    assert (early if before == 0.0 else late) == pytest.approx(one_step)
    assert (late if before == 0.0 else early) != pytest.approx(one_step)


def config_with(**overrides):
    return merge_layer(layered_config("qmix", "smax"), overrides, "the test", allow_new_keys=False)


def test_schedule_points_may_be_fractions_of_t_max():
    targets = builder(0.3, [[0, 0.0], [0.25, 0.6], [900, 0.3]], t_max=2000)
    assert [targets.lambda_at(t) for t in (0, 499, 500, 899, 900)] == [0.0, 0.0, 0.6, 0.6, 0.3]


@pytest.mark.parametrize("schedule, message", [
    ([[100, 0.6]], "start at t_env 0"),
    ([[0, 0.6], [500, 0.0], [200, 0.3]], "strictly increasing"),
    ([[0, 0.6], [500, 0.0], [500, 0.3]], "strictly increasing"),
    ([[0, 1.5]], r"lie in \[0, 1\]"),
    ([[0, -0.1]], r"lie in \[0, 1\]"),
    ([[0, 0.6, 1]], "pairs"),
    ([0.6], "pairs"),
    ([[0.5, 0.6]], "start at t_env 0"),  # a fraction of t_max
    ([[0, 0.6], [1.5, 0.0]], "fractions of t_max"),
    ([[0, 0.6], ["500k", 0.0]], "whole env steps or fractions"),
    ([[0, 0.6], [0.9, 0.0], [5000, 0.3]], "strictly increasing"),  # 0.9 of t_max is past step 5000
])
def test_bad_schedules_are_refused_before_training(schedule, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(config_with(td_lambda_schedule=schedule))


@pytest.mark.parametrize("schedule", [[], [[0, 0.6]], [[0, 0.6], [500000, 0.0]], [[0, 0], [10, 1], [20, 0.5]],
                                      [[0.0, 0.0], [0.1, 0.6]], [[0, 0.0], [0.25, 0.6], [1900000, 0.3]]])
def test_good_schedules_pass(schedule):
    validate_config(config_with(td_lambda_schedule=schedule))
