"""The widths of tiny QMIX for a map: a dense QMIX with about the parameters of the sparse one.

The sizing rule of tiny_qmix.yaml, for any SMAX map: count the parameters the sparse QMIX
keeps (``rigl_qmix`` at ``--sparsity``: the active weights plus every bias) in the agent and
in the mixer; take the ``rnn_hidden_dim`` whose dense agent is nearest the sparse agent, and
the ``(mixing_embed_dim, hypernet_embed)`` pair, hypernetwork wider than the mixing layer as
in qmix.yaml, whose dense mixer is nearest the sparse mixer. Prints the counts and the widths
as YAML lines for a per-map config (tiny_qmix_<map>.yaml). On 3m it gives 17, 3, 13 (5967
parameters against the sparse 6041); tiny_qmix.yaml, sized by hand before this script, has
17, 4, 12 (6008), its mixer 23 parameters further from the sparse mixer's than this rule's.

    python benchmarks/tiny_sizing.py --map 3s5z
"""

import argparse
import os
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from envs.smax import SMAXCore  # noqa: E402
from modules.agents import REGISTRY as AGENT_REGISTRY  # noqa: E402
from modules.mixers import REGISTRY as MIXER_REGISTRY  # noqa: E402
from run.build import build_learner  # noqa: E402
from utils.config import layered_config, merge_layer, to_namespace  # noqa: E402
from utils.logging import Logger, get_console_logger  # noqa: E402


def sparse_qmix(map_name, sparsity):
    """The 90% (``sparsity``) sparse QMIX of ``map_name``, built as a run builds it."""
    env_info = SMAXCore(map_name, 100, 10.0, 1.0, normalize_state=True).env_info()
    config = merge_layer(layered_config("rigl_qmix", "smax"), {"seed": 0, "sparse": {"sparsity": sparsity}},
                         "tiny_sizing", allow_new_keys=False)
    return build_learner(to_namespace(config), env_info, Logger(get_console_logger("tiny_sizing")))


def resized(args, **widths):
    """A copy of the run config ``args`` with other widths."""
    return SimpleNamespace(**{**vars(args), **widths})


def kept_parameters(network):
    """Nonzero parameters (the sparse network's active weights and its biases)."""
    return sum(int(parameter.count_nonzero()) for parameter in network.parameters())


def all_parameters(network):
    return sum(parameter.numel() for parameter in network.parameters())


def size_tiny(map_name, sparsity):
    """``{"rnn_hidden_dim", "mixing_embed_dim", "hypernet_embed", counts...}`` for ``map_name``."""
    sparse = sparse_qmix(map_name, sparsity)
    args, input_shape = sparse.args, sparse.mac.agent.fc1.in_features
    agent_target, mixer_target = kept_parameters(sparse.mac.agent), kept_parameters(sparse.mixer)
    agents = {width: all_parameters(AGENT_REGISTRY[args.agent](input_shape, resized(args, rnn_hidden_dim=width)))
              for width in range(2, 65)}
    width = min(agents, key=lambda w: abs(agents[w] - agent_target))
    mixers = {(embed, hyper): all_parameters(MIXER_REGISTRY[args.mixer](
                  resized(args, mixing_embed_dim=embed, hypernet_embed=hyper)))
              for embed in range(1, 33) for hyper in range(embed + 1, 65)}
    embed, hyper = min(mixers, key=lambda pair: abs(mixers[pair] - mixer_target))
    return {"rnn_hidden_dim": width, "mixing_embed_dim": embed, "hypernet_embed": hyper,
            "sparse_agent": agent_target, "sparse_mixer": mixer_target,
            "tiny_agent": agents[width], "tiny_mixer": mixers[embed, hyper]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", required=True, help="SMAX map name (env_args.map_name)")
    parser.add_argument("--sparsity", type=float, default=0.9, help="the sparse QMIX to match (sparse.sparsity)")
    options = parser.parse_args()
    sizes = size_tiny(options.map, options.sparsity)
    sparse_total = sizes["sparse_agent"] + sizes["sparse_mixer"]
    tiny_total = sizes["tiny_agent"] + sizes["tiny_mixer"]
    print(f"# SMAX {options.map}, sparse QMIX at {options.sparsity}: agent {sizes['sparse_agent']}, "
          f"mixer {sizes['sparse_mixer']}, {sparse_total} parameters kept;")
    print(f"# tiny QMIX: agent {sizes['tiny_agent']}, mixer {sizes['tiny_mixer']}, {tiny_total} parameters "
          f"({100 * (tiny_total - sparse_total) / sparse_total:+.1f}%)")
    for key in ("rnn_hidden_dim", "mixing_embed_dim", "hypernet_embed"):
        print(f"{key}: {sizes[key]}")


if __name__ == "__main__":
    main()
