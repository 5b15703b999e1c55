"""Agent network registry: ``agent`` in YAML picks a class here."""

from modules.agents.rnn_agent import RNNAgent

REGISTRY = {"n_rnn": RNNAgent, "rnn": RNNAgent}
