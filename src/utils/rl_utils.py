"""Return and operator maths shared by the learners."""

import torch


def build_td_lambda_targets(rewards, terminated, mask, target_qs, n_agents, gamma, td_lambda):
    """TD(lambda) targets of every step of a batch of episodes, computed backwards in time.

    Same signature and meaning as PyMARL2's function, so its users can drop it in.

    Args:
        rewards, terminated, mask: ``[B, T, 1]`` (``mask`` is 1 on real, non-padded steps).
        target_qs: ``[B, T + 1, 1]``, the target value of each step's state (step T is the
            state after the last transition; it is bootstrapped only if no step terminated).
        n_agents: kept for PyMARL2 compatibility (unused: targets here are joint values).
        gamma, td_lambda: discount and lambda; lambda 0 gives one-step targets, 1 Monte Carlo.

    Returns ``[B, T, 1]``: ``G_t = r_t + gamma * ((1 - lambda) * Q(t+1) * (1 - term_t) + lambda * G_{t+1})``
    on real steps and 0 on padding.
    """
    del n_agents
    returns = torch.zeros_like(target_qs)
    returns[:, -1] = target_qs[:, -1] * (1 - terminated.sum(dim=1))
    for t in range(returns.shape[1] - 2, -1, -1):
        bootstrap = (1 - td_lambda) * gamma * target_qs[:, t + 1] * (1 - terminated[:, t])
        returns[:, t] = td_lambda * gamma * returns[:, t + 1] + mask[:, t] * (rewards[:, t] + bootstrap)
    return returns[:, :-1]


def soft_mellowmax(q, omega, alpha, avail_actions=None, dim=-1, weight_q=None):
    """Soft Mellowmax over the available entries of ``q`` along ``dim`` (Gan et al. 2020).

    ``sm(Q) = (1 / omega) * log sum_a softmax(alpha * W)_a * exp(omega * Q_a)``, with ``W = q``
    unless ``weight_q`` gives other values for the softmax weights (a double-Q style
    split: weights from one network, values from another). Computed in log-sum-exp form,
    ``[logsumexp(alpha * W + omega * Q) - logsumexp(alpha * W)] / omega``, over available
    entries only.

    Limits: ``alpha = 0`` is Mellowmax, ``(1 / omega) log mean exp(omega Q)`` over the
    available entries; as ``omega`` grows the value rises to the max over available entries;
    it never exceeds that max. A slice with no available entry gives 0, with zero
    (never NaN) gradients.

    Args:
        q: values, any shape.
        omega: positive temperature of the exponential.
        alpha: non-negative inverse temperature of the softmax weights.
        avail_actions: same shape as ``q``; nonzero marks an available entry (None: all).
        dim: the dimension reduced.
        weight_q: values that set the softmax weights, same shape as ``q`` (None: ``q``).

    Returns ``q`` reduced over ``dim``.
    """
    if omega <= 0:
        raise ValueError(f"soft_mellowmax needs omega > 0, got {omega}")
    weight_q = q if weight_q is None else weight_q
    available = torch.ones_like(q, dtype=torch.bool) if avail_actions is None else avail_actions > 0
    has_available = available.any(dim=dim, keepdim=True)
    # Empty slices are computed over all entries (finite) and replaced by 0 below.
    included = available | ~has_available
    weight_logits = (alpha * weight_q).masked_fill(~included, -float("inf"))
    value_logits = (alpha * weight_q + omega * q).masked_fill(~included, -float("inf"))
    values = (torch.logsumexp(value_logits, dim=dim) - torch.logsumexp(weight_logits, dim=dim)) / omega
    return torch.where(has_available.squeeze(dim), values, torch.zeros_like(values))


def _max_and_spread(q, available, count):
    """The max over the available entries of the last dimension and the spread, max minus mean,
    of those entries: a measure of scale that scales with ``q``. Where the spread is negligible
    against the values (one available entry, equal entries) or undefined (none available) it is
    1, a harmless stand-in: every soft maximum of equal values is that value. Both keep the
    reduced dimension."""
    largest = q.masked_fill(~available, -float("inf")).amax(dim=-1, keepdim=True)
    mean = (q * available).sum(dim=-1, keepdim=True) / count.clamp(min=1)
    spread = largest - mean
    meaningful = spread > 1e-6 * (largest.abs() + mean.abs())  # False for -inf (no entry) too
    return largest, torch.where(meaningful, spread, torch.ones_like(spread))


def scale_free_soft_mellowmax(q, omega, alpha, avail_actions=None, weight_q=None):
    """Soft Mellowmax over the last dimension with omega and alpha in units of the spread (max
    minus mean of the available entries, per slice) of the values they multiply: omega / spread(Q) and
    alpha / spread(W), so that scaling every value by ``c > 0`` scales the result by ``c``.

    Computed in log-sum-exp form around the maxima of W and Q (each ``l`` below is 0 at its
    max over available entries and negative elsewhere): with ``l_W = alpha (W - max W) /
    spread(W)`` and ``l_Q = omega (Q - max Q) / spread(Q)``, the value is
    ``max Q + spread(Q) / omega * [logsumexp(l_W + l_Q) - logsumexp(l_W)]``, which equals
    :func:`soft_mellowmax` with those omegas and alphas. Arguments as there (numbers only);
    a slice with no available entry gives 0.
    """
    if omega <= 0:
        raise ValueError(f"scale_free_soft_mellowmax needs omega > 0, got {omega}")
    weight_q = q if weight_q is None else weight_q
    available = torch.ones_like(q, dtype=torch.bool) if avail_actions is None else avail_actions > 0
    count = available.sum(dim=-1, keepdim=True)
    empty = count == 0
    available = available | empty  # empty slices are computed over all entries (finite), then set to 0
    largest, q_spread = _max_and_spread(q, available, count)
    w_largest, w_spread = (largest, q_spread) if weight_q is q else _max_and_spread(weight_q, available, count)
    weight_logits = ((weight_q - w_largest) * (alpha / w_spread)).masked_fill(~available, -float("inf"))
    joint_logits = weight_logits + (q - largest) * (omega / q_spread)
    joint_max = joint_logits.amax(dim=-1, keepdim=True)
    log_joint = joint_max + torch.log((joint_logits - joint_max).exp().sum(dim=-1, keepdim=True))
    log_weights = torch.log(weight_logits.exp().sum(dim=-1, keepdim=True))  # >= log 1: the max of W is there
    values = largest + q_spread / omega * (log_joint - log_weights)
    return values.masked_fill(empty, 0.0).squeeze(-1)


def softmax_weighted_value(q, beta, mask=None, dim=-1, weight_q=None):
    """``sum_a softmax(beta * W)_a * Q_a`` over the entries of ``q`` where ``mask`` is nonzero.

    The softmax operator of RES (Pan et al. 2021); ``W = q`` unless ``weight_q`` gives the
    values that set the weights. A slice with no entry in ``mask`` gives 0.
    """
    weight_q = q if weight_q is None else weight_q
    included = torch.ones_like(q, dtype=torch.bool) if mask is None else mask > 0
    has_included = included.any(dim=dim, keepdim=True)
    included = included | ~has_included
    weights = torch.softmax((beta * weight_q).masked_fill(~included, -float("inf")), dim=dim)
    values = (weights * q.masked_fill(~included, 0.0)).sum(dim=dim)
    return torch.where(has_included.squeeze(dim), values, torch.zeros_like(values))


def discounted_returns(rewards, mask, gamma):
    """Monte Carlo returns ``G_t = r_t + gamma * G_{t+1}`` of each episode, ``[B, T, 1]``.

    ``rewards`` and ``mask`` are ``[B, T, 1]``; ``mask`` is 1 on real steps. The sum stops at
    the episode's last real step (no bootstrap, also when the episode hit its time limit);
    padded steps get 0.
    """
    returns = torch.zeros_like(rewards)
    following = torch.zeros_like(rewards[:, 0])
    for t in range(rewards.shape[1] - 1, -1, -1):
        following = mask[:, t] * (rewards[:, t] + gamma * following)
        returns[:, t] = following
    return returns


def greedy_actions(qs, avail_actions):
    """Index of the best available action along the last dimension (0 where none is available)."""
    return qs.masked_fill(avail_actions <= 0, -float("inf")).argmax(dim=-1)
