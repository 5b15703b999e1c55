"""EPyMARL's reward standardisation (``standardise_rewards``), for the learner's targets."""

import math

from gymnasium.wrappers.utils import RunningMeanStd


class RewardStandardiser:
    """Rewards shifted and scaled by the running mean and standard deviation of every reward
    of a real step the learner has been given so far, a batch's own rewards included.

    The statistics (gymnasium's ``RunningMeanStd``, float64) take only the steps where the
    loss mask is on, so padding after an episode's end does not pull them towards 0.
    """

    def __init__(self):
        self.stats = RunningMeanStd(shape=())

    def __call__(self, rewards, mask):
        """``rewards [B, T, 1]`` standardised, after adding those where ``mask`` is on to the statistics."""
        real = rewards[mask > 0].detach().cpu().double().numpy()
        if real.size:
            self.stats.update(real)
        std = max(math.sqrt(float(self.stats.var)), 1e-8)
        return (rewards - float(self.stats.mean)) / std

    def state_dict(self):
        return {"mean": float(self.stats.mean), "var": float(self.stats.var), "count": float(self.stats.count)}

    def load_state_dict(self, state):
        self.stats.mean, self.stats.var, self.stats.count = state["mean"], state["var"], state["count"]
