"""Parameters and FLOPs of sparse QMIX on SMAX 3m, 2s3z and 3s5z (as MAST's Table 1), and
the FLOPs ratios of every MAST algorithm on 3m.

For each map the real env reports its shapes; a RigL QMIX learner is built from
``algs/rigl_qmix.yaml`` with the given sparsity and distribution (and once more with
``method: static`` for the static/SET column), and its sparse trainer
counts, from the layers and masks, the parameters (agent and mixer; a sparse model's are its
nonzero weights plus its dense biases) and the FLOPs ratios of ``src/sparse/flops.py``. The
second table builds each ``algs/mast_*.yaml`` learner as configured; its training ratio
counts that learner's own forward-only passes (WQMIX's central networks, RES's candidates).

    .venv/bin/python benchmarks/flops_table.py
"""

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from envs.smax import SMAXCore  # noqa: E402
from run.build import build_learner as run_build_learner  # noqa: E402
from sparse.distributions import DISTRIBUTIONS  # noqa: E402
from utils.config import layered_config, merge_layer, to_namespace  # noqa: E402
from utils.logging import Logger, get_console_logger  # noqa: E402

MAPS = ("3m", "2s3z", "3s5z")
SPARSITIES = (0.9, 0.95)


MAST_ALGS = ("mast_qmix", "mast_vdn", "mast_ow_qmix", "mast_cw_qmix", "mast_res_qmix")


def build_learner(env_info, sparse, alg="rigl_qmix"):
    config = merge_layer(layered_config(alg, "smax"), {"sparse": sparse}, "benchmark", allow_new_keys=False)
    config["seed"] = 0
    return run_build_learner(to_namespace(config), env_info, Logger(get_console_logger()))


def parameter_counts(learner):
    """``(dense, sparse)`` parameter counts of the agent and mixer."""
    parameters = [p for net in (learner.mac.agent, learner.mixer) for p in net.parameters()]
    return sum(p.numel() for p in parameters), sum(int(torch.count_nonzero(p)) for p in parameters)


def main():
    print("| map | sparsity | distribution | params dense | params sparse (nonzero) | params ratio "
          "| train FLOPs, RigL (dT=25) | train FLOPs, static/SET | inference FLOPs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for map_name in MAPS:
        env_info = SMAXCore(map_name, 100, 10.0, 1.0, normalize_state=True).env_info()
        for sparsity in SPARSITIES:
            for distribution in DISTRIBUTIONS:
                learner = build_learner(env_info, {"sparsity": sparsity, "distribution": distribution})
                trainer = learner.sparse
                dense, nonzero = parameter_counts(learner)
                train_rigl, infer = trainer.flops_ratios()
                static = build_learner(env_info, {"sparsity": sparsity, "distribution": distribution,
                                                  "method": "static"})
                train_static = static.sparse.flops_ratios()[0]
                print(f"| {map_name} | {sparsity} | {distribution} | {dense} | {nonzero} | {nonzero / dense:.3f} "
                      f"| {train_rigl:.3f} ({1 / train_rigl:.1f}x fewer) | {train_static:.3f} "
                      f"| {infer:.3f} ({1 / infer:.1f}x fewer) |", flush=True)

    print("\n| algorithm (3m) | sparsity | train FLOPs | inference FLOPs |")
    print("| --- | --- | --- | --- |")
    env_info = SMAXCore("3m", 100, 10.0, 1.0, normalize_state=True).env_info()
    for alg in MAST_ALGS:
        learner = build_learner(env_info, {}, alg)
        train, infer = learner.sparse.flops_ratios()
        print(f"| {alg} | {learner.args.sparse.sparsity} | {train:.3f} | {infer:.3f} |", flush=True)


if __name__ == "__main__":
    main()
