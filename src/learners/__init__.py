"""Learner registry: ``learner`` in YAML picks a class here."""

from learners.nq_learner import NQLearner

REGISTRY = {"nq_learner": NQLearner, "q_learner": NQLearner}
