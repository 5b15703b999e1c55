"""Multi-agent controller registry: ``mac`` in YAML picks a class here."""

from controllers.n_controller import NMAC

REGISTRY = {"n_mac": NMAC, "basic_mac": NMAC}
