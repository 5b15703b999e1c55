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
