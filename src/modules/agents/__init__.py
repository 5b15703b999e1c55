"""Agent network registry: ``agent`` in YAML picks a class here."""

from modules.agents.rnn_agent import RNNAgent
from modules.agents.rnn_ns_agent import NonSharedRNNAgent

REGISTRY = {"n_rnn": RNNAgent, "rnn": RNNAgent, "rnn_ns": NonSharedRNNAgent}
