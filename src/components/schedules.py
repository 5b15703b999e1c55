"""Schedules of a value over environment steps."""


class LinearSchedule:
    """From ``start`` to ``finish`` linearly over ``duration`` steps, then constant."""

    def __init__(self, start, finish, duration):
        self.start, self.finish, self.duration = start, finish, duration

    def eval(self, t):
        if self.duration <= 0:
            return self.finish
        fraction = min(max(t / self.duration, 0.0), 1.0)
        return self.start + fraction * (self.finish - self.start)


class PiecewiseConstantSchedule:
    """A value that changes in steps: ``steps`` is a list of ``[t, value]`` sorted by ``t``,
    the first at ``t = 0``; each value holds from its ``t`` until the next listed ``t``."""

    def __init__(self, steps):
        if not steps or steps[0][0] != 0:
            raise ValueError(f"a piecewise constant schedule must start at t = 0, got {steps!r}")
        self.starts = [start for start, _ in steps]
        self.values = [value for _, value in steps]

    def eval(self, t):
        current = self.values[0]
        for start, value in zip(self.starts, self.values):
            if t < start:
                break
            current = value
        return current


def in_env_steps(points, t_max):
    """``[[t, value], ...]`` with each ``t`` in env steps: an integer ``t`` is one already, a
    float ``t`` in [0, 1] is a fraction of ``t_max`` (0.1: after a tenth of training)."""
    return [[round(t * t_max) if isinstance(t, float) else t, value] for t, value in points]
