"""Soft Mellowmax and RES's softmax (utils.rl_utils), and how TargetBuilder composes them with
double Q: against a float64 reference, on empty rows, at their limits, through gradients."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from learners.targets import TargetBuilder
from utils.rl_utils import scale_free_soft_mellowmax, soft_mellowmax, softmax_weighted_value

SETTINGS = [(5.0, 0.0), (10.0, 1.0), (10.0, 5.0), (0.5, 2.0), (50.0, 1.0)]  # (omega, alpha)


def reference_soft_mellowmax(q, omega, alpha, available, weight_q=None):
    """The definition, row by row in float64: (1/omega) log sum_a softmax(alpha W)_a exp(omega Q_a)
    over available a (exponentials shifted by the row's max to stay finite); 0 for an empty row."""
    q = np.asarray(q, np.float64)
    weight_q = q if weight_q is None else np.asarray(weight_q, np.float64)
    rows_q, rows_w, rows_a = q.reshape(-1, q.shape[-1]), weight_q.reshape(-1, q.shape[-1]), available.reshape(-1, q.shape[-1])
    out = []
    for values, weights, mask in zip(rows_q, rows_w, rows_a):
        if not mask.any():
            out.append(0.0)
            continue
        softmax = np.exp(alpha * (weights[mask] - weights[mask].max()))
        softmax /= softmax.sum()
        top = values[mask].max()
        out.append(top + np.log(np.sum(softmax * np.exp(omega * (values[mask] - top)))) / omega)
    return np.array(out).reshape(q.shape[:-1])


def random_case(seed, shape=(6, 5, 3, 9)):
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(shape, generator=generator) * 4 + torch.randn(shape[:-1] + (1,), generator=generator) * 10
    available = torch.rand(shape, generator=generator) < 0.6
    available[0, 0] = False  # some rows with no available action
    available[1, 2, 1] = False
    return q, available


def assert_relative_error_below(result, reference, bound=1e-5):
    scale = np.maximum(np.abs(reference), 1.0)
    error = np.abs(result.detach().double().numpy() - reference) / scale
    assert error.max() < bound, error.max()


@pytest.mark.parametrize("omega, alpha", SETTINGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_soft_mellowmax_matches_float64_reference(seed, omega, alpha):
    q, available = random_case(seed)
    result = soft_mellowmax(q, omega, alpha, available.int())
    assert_relative_error_below(result, reference_soft_mellowmax(q.numpy(), omega, alpha, available.numpy()))


@pytest.mark.parametrize("omega, alpha", SETTINGS)
def test_soft_mellowmax_with_separate_weights_matches_reference(omega, alpha):
    q, available = random_case(3)
    weight_q = q + torch.randn(q.shape, generator=torch.Generator().manual_seed(9))
    result = soft_mellowmax(q, omega, alpha, available, weight_q=weight_q)
    expected = reference_soft_mellowmax(q.numpy(), omega, alpha, available.numpy(), weight_q.numpy())
    assert_relative_error_below(result, expected)


def test_soft_mellowmax_reduces_along_the_given_dim():
    q, available = random_case(4)
    along_last = soft_mellowmax(q, 10.0, 1.0, available)
    along_first = soft_mellowmax(q.movedim(-1, 0), 10.0, 1.0, available.movedim(-1, 0), dim=0)
    torch.testing.assert_close(along_first, along_last)


def test_soft_mellowmax_without_mask_uses_every_action():
    q, _ = random_case(5)
    everything = np.ones(q.shape, bool)
    assert_relative_error_below(soft_mellowmax(q, 10.0, 1.0), reference_soft_mellowmax(q.numpy(), 10.0, 1.0, everything))


def test_rows_without_available_actions_give_zero_and_zero_gradients():
    q = torch.tensor([[1.0, 2.0, 3.0], [50.0, -80.0, 7.0], [0.5, 0.2, 0.1]], requires_grad=True)
    available = torch.tensor([[1, 0, 1], [0, 0, 0], [0, 0, 0]])
    result = soft_mellowmax(q, 10.0, 0.5, available)
    assert result[1:].tolist() == [0.0, 0.0]
    result.sum().backward()
    assert torch.isfinite(q.grad).all()
    assert q.grad[1:].abs().sum() == 0  # the empty rows
    assert q.grad[0, 1] == 0  # an unavailable action


@pytest.mark.parametrize("omega, alpha", SETTINGS + [(1000.0, 0.0), (10.0, 300.0)])
def test_gradients_are_finite_everywhere(omega, alpha):
    q, available = random_case(6)
    q.requires_grad_(True)
    soft_mellowmax(q, omega, alpha, available).sum().backward()
    assert torch.isfinite(q.grad).all()
    assert (q.grad[~available] == 0).all()


def test_alpha_zero_is_mellowmax_over_available_actions():
    q, available = random_case(7)
    omega = 5.0
    mellowmax = []
    for values, mask in zip(q.reshape(-1, q.shape[-1]).double(), available.reshape(-1, q.shape[-1])):
        mellowmax.append(torch.log(torch.exp(omega * values[mask]).mean()) / omega if mask.any() else 0.0)
    expected = torch.tensor(mellowmax, dtype=torch.float64).view(q.shape[:-1]).numpy()
    assert_relative_error_below(soft_mellowmax(q, omega, 0.0, available), expected)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_large_omega_approaches_the_max_over_available_actions_from_below(alpha):
    q, available = random_case(8)
    best = q.masked_fill(~available, -float("inf")).max(dim=-1).values
    has_any = available.any(dim=-1)
    gaps = []
    for omega in (1.0, 10.0, 100.0, 1000.0):
        value = soft_mellowmax(q, omega, alpha, available)
        gap = (best - value)[has_any]
        assert (gap >= -1e-4).all()  # never above the max
        gaps.append(gap.max().item())
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 0.05


def test_omega_must_be_positive():
    with pytest.raises(ValueError, match="omega"):
        soft_mellowmax(torch.zeros(3), 0.0, 1.0)


def test_softmax_weighted_value_by_hand():
    q = torch.tensor([[1.0, 2.0, 4.0], [3.0, 0.0, 0.0]])
    weights_from = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 0], [0, 0, 0]])
    # row 0: uniform weights over the two included entries -> 1.5; row 1: nothing included -> 0
    assert softmax_weighted_value(q, 2.0, mask, weight_q=weights_from).tolist() == [1.5, 0.0]
    beta = 0.7
    expected = (np.exp(beta * np.array([1.0, 2.0])) @ np.array([1.0, 2.0])) / np.exp(beta * np.array([1.0, 2.0])).sum()
    assert softmax_weighted_value(q, beta, mask)[0].item() == pytest.approx(expected, rel=1e-6)


# --- TargetBuilder: the operator and double Q ---------------------------------------------
def builder(**overrides):
    args = dict(double_q=True, gamma=0.99, n_agents=2, target_operator="max", sm_omega=10.0, sm_alpha=1.0,
                res_beta=5.0, td_lambda=0.0, td_lambda_schedule=[], sm_scale="fixed", t_max=10**6)
    args.update(overrides)
    return TargetBuilder(SimpleNamespace(**args))


# One step, two agents, three actions; agent 1's action 2 is unavailable.
TARGET_QS = torch.tensor([[[[1.0, 5.0, 2.0], [0.5, 3.0, 9.0]]]])
ONLINE_QS = torch.tensor([[[[4.0, 0.0, 1.0], [0.0, 2.0, 7.0]]]])
AVAILABLE = torch.tensor([[[[1, 1, 1], [1, 1, 0]]]])


def test_max_operator_with_and_without_double_q():
    # double Q: online picks action 0 (agent 0) and 1 (agent 1; 2 is unavailable); target values them
    assert builder().agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE).tolist() == [[[1.0, 3.0]]]
    assert builder(double_q=False).agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE).tolist() == [[[5.0, 3.0]]]


def test_soft_mellowmax_with_double_q_takes_its_weights_from_the_online_qs():
    values = builder(target_operator="soft_mellowmax").agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE)
    expected = reference_soft_mellowmax(TARGET_QS.numpy(), 10.0, 1.0, AVAILABLE.numpy() > 0, ONLINE_QS.numpy())
    assert_relative_error_below(values, expected)


def test_soft_mellowmax_tends_to_the_double_q_value_and_to_the_max_as_alpha_grows():
    sharp = dict(target_operator="soft_mellowmax", sm_alpha=200.0, sm_omega=1.0)
    double = builder(**sharp).agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE)
    torch.testing.assert_close(double, torch.tensor([[[1.0, 3.0]]]), atol=1e-3, rtol=0)
    single = builder(double_q=False, **sharp).agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE)
    torch.testing.assert_close(single, torch.tensor([[[5.0, 3.0]]]), atol=1e-3, rtol=0)


def test_soft_mellowmax_at_alpha_zero_ignores_which_network_selects():
    flat = dict(target_operator="soft_mellowmax", sm_alpha=0.0)
    with_double = builder(**flat).agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE)
    without = builder(double_q=False, **flat).agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE)
    torch.testing.assert_close(with_double, without)


def test_wqmix_selection_without_double_q_comes_from_the_given_target_selection_qs():
    # the central target Qs evaluate; the target QMIX agents' Qs select
    selecting = torch.tensor([[[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]])
    values = builder(double_q=False).agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE, target_selection_qs=selecting)
    assert values.tolist() == [[[2.0, 0.5]]]


def test_agents_without_available_actions_get_zero_under_both_operators():
    nothing = torch.zeros_like(AVAILABLE)
    for operator in ("max", "soft_mellowmax"):
        assert builder(target_operator=operator).agent_next_values(TARGET_QS, ONLINE_QS, nothing).tolist() == [[[0.0, 0.0]]]


def test_candidate_values_use_res_softmax_under_max_and_soft_mellowmax_otherwise():
    target = torch.tensor([[[1.0, 4.0, 2.0]]])
    online = torch.tensor([[[3.0, 0.0, 1.0]]])
    mask = torch.tensor([[[1, 1, 0]]])
    res = builder(res_beta=0.5).candidate_next_values(target, online, mask)
    assert res.item() == pytest.approx(softmax_weighted_value(target, 0.5, mask, weight_q=online).item())
    weights = np.exp(0.5 * np.array([3.0, 0.0]))
    assert res.item() == pytest.approx(weights @ np.array([1.0, 4.0]) / weights.sum(), rel=1e-6)
    smm = builder(target_operator="soft_mellowmax").candidate_next_values(target, online, mask)
    expected = reference_soft_mellowmax(target.numpy(), 10.0, 1.0, mask.numpy() > 0, online.numpy())
    assert_relative_error_below(smm, expected)


# --- the scale-free Soft Mellowmax (sm_scale: spread) ---------------------------------------
def utilities(seed, shape=(4, 6, 3, 7)):
    """Random utilities and availability (some rows with one action, one with none)."""
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(shape, generator=generator, dtype=torch.float64)
    available = torch.rand(shape, generator=generator) < 0.6
    available[0, 0, 0] = False  # no action
    available[0, 0, 1] = False
    available[0, 0, 1, 2] = True  # one action
    return q, available.int()


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("double_q", [False, True])
def test_scale_free_soft_mellowmax_scales_with_the_utilities(scale, double_q):
    q, available = utilities(0)
    weights = utilities(1)[0] if double_q else None
    base = scale_free_soft_mellowmax(q.float(), 10.0, 1.0, available, weight_q=None if weights is None else weights.float())
    scaled = scale_free_soft_mellowmax((scale * q).float(), 10.0, 1.0, available,
                                       weight_q=None if weights is None else (scale * weights).float())
    assert torch.allclose(scaled, scale * base, rtol=1e-4, atol=1e-6 * scale)


def test_scale_free_soft_mellowmax_lies_between_mean_and_max_and_handles_empty_rows():
    q, available = utilities(2)
    values = scale_free_soft_mellowmax(q, 10.0, 1.0, available)
    mask = available > 0
    largest = q.masked_fill(~mask, -float("inf")).amax(-1)
    mean = (q * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    some = mask.any(-1)
    assert torch.isfinite(values).all()
    assert (values[some] <= largest[some] + 1e-9).all() and (values[some] >= mean[some] - 1e-9).all()
    assert values[0, 0, 0] == 0.0  # no available action
    assert values[0, 0, 1] == q[0, 0, 1, 2]  # one available action: its value


def test_scale_free_soft_mellowmax_is_the_fixed_one_at_omega_over_the_spread():
    # utilities spread as QMIX's were on SMAX 2s3z: max 0.3, mean 0.14625, spread 0.15375
    q = torch.tensor([[0.0, 0.05, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3]], dtype=torch.float64)
    spread = 0.3 - q.mean().item()
    assert scale_free_soft_mellowmax(q, 10.0, 1.0).item() == pytest.approx(
        soft_mellowmax(q, 10.0 / spread, 1.0 / spread).item())
    # omega 10 in spread units stays near the max; 10 as a plain number sits nearer the mean
    toward_mean = lambda value: (0.3 - value) / spread  # noqa: E731
    assert toward_mean(scale_free_soft_mellowmax(q, 10.0, 1.0).item()) < 0.25
    assert toward_mean(soft_mellowmax(q, 10.0, 1.0).item()) > 0.5


def test_scale_free_soft_mellowmax_has_finite_gradients_with_masked_and_equal_actions():
    q, available = utilities(3)
    q[1, 1, 1] = 0.7  # all actions equal
    q.requires_grad_(True)
    scale_free_soft_mellowmax(q, 10.0, 1.0, available).sum().backward()
    assert torch.isfinite(q.grad).all()


def test_the_target_builder_picks_the_scale_mode():
    spread = builder(target_operator="soft_mellowmax", sm_scale="spread")
    fixed = builder(target_operator="soft_mellowmax", sm_scale="fixed")
    for target_builder, operator in ((spread, scale_free_soft_mellowmax), (fixed, soft_mellowmax)):
        expected = operator(TARGET_QS, 10.0, 1.0, AVAILABLE, weight_q=ONLINE_QS)
        assert torch.equal(target_builder.agent_next_values(TARGET_QS, ONLINE_QS, AVAILABLE), expected)
