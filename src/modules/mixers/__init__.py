"""Mixer registry: ``mixer`` in YAML picks a class here (learners never branch on names)."""

from modules.mixers.central_ff import CentralFFMixer
from modules.mixers.qmix import QMixer
from modules.mixers.vdn import VDNMixer

REGISTRY = {"qmix": QMixer, "vdn": VDNMixer, "central_ff": CentralFFMixer}
