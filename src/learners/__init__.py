"""Learner registry: ``learner`` in YAML picks a class here."""

from learners.nq_learner import NQLearner
from learners.res_learner import RESLearner
from learners.wqmix_learner import WQMIXLearner

REGISTRY = {
    "nq_learner": NQLearner,
    "q_learner": NQLearner,
    "wqmix_learner": WQMIXLearner,  # OW-QMIX and CW-QMIX (wqmix_weighting)
    "res_learner": RESLearner,
}
