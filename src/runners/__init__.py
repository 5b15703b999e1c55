"""Runner registry: ``runner`` in YAML picks a class here."""

from runners.episode_runner import EpisodeRunner, ParallelRunner, VectorizedRunner

REGISTRY = {"episode": EpisodeRunner, "parallel": ParallelRunner, "vectorized": VectorizedRunner}
