"""The cost of the next-state operator in a learner update.

QMIX's per-agent operators (the default): max, Soft Mellowmax with a fixed omega, and the
scale-free Soft Mellowmax (``sm_scale: spread``), on Q-values of one batch's shape, next to a
whole MAST-QMIX update on a batch of random episodes of that shape. With ``--wqmix <alg>``
(mast_ow_qmix, mast_cw_qmix): whole updates of that WQMIX learner with its max target and
with the joint-action Soft Mellowmax (the central mixer over every candidate joint action),
the rounds interleaved.

    python benchmarks/operator_cost.py --map 2s3z --steps 70 --repeats 20
    python benchmarks/operator_cost.py --map 3m --steps 30 --repeats 10 --wqmix mast_ow_qmix
"""

import argparse
import os
import statistics
import sys
import time
from types import SimpleNamespace

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from components.random_episodes import random_episode_batch  # noqa: E402
from envs.smax import SMAXCore  # noqa: E402
from learners.targets import TargetBuilder  # noqa: E402
from run.build import build_learner  # noqa: E402
from utils.config import layered_config, to_namespace  # noqa: E402
from utils.logging import Logger, get_console_logger  # noqa: E402


def median_ms(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def config_and_env(alg, map_name, **overrides):
    args = to_namespace({**layered_config(alg, "smax"), **overrides})
    args.device, args.seed = "cpu", 0
    return args, SMAXCore(map_name, 100, 10.0, 1.0, normalize_state=True).env_info()


def wqmix_update_cost(options):
    """Median ms of whole updates of ``options.wqmix`` with max and with joint-action Soft Mellowmax."""
    learners, batch = {}, None
    for operator in ("max", "soft_mellowmax"):
        args, env_info = config_and_env(options.wqmix, options.map, target_operator=operator)
        learners[operator] = build_learner(args, env_info, Logger(get_console_logger("operator_cost")))
        batch = random_episode_batch(env_info, args.batch_size, options.steps, torch.Generator().manual_seed(0))
    times = {operator: [] for operator in learners}
    for _ in range(options.repeats):  # interleaved rounds
        for operator, learner in learners.items():
            times[operator].append(median_ms(lambda: learner.train(batch, 600000, 10), 1))
    print(f"SMAX {options.map}: whole {options.wqmix} updates on {args.batch_size} random episodes of "
          f"{options.steps} steps, {options.repeats} interleaved rounds")
    print("| target | ms min / median / max | ratio to max (median) |")
    print("|---|---|---|")
    base = statistics.median(times["max"])
    for operator, label in (("max", "max (WQMIX's own)"), ("soft_mellowmax", "joint-action Soft Mellowmax")):
        row = times[operator]
        print(f"| {label} | {min(row):.0f} / {statistics.median(row):.0f} / {max(row):.0f} | "
              f"{statistics.median(row) / base:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="2s3z")
    parser.add_argument("--steps", type=int, default=70, help="time steps of the batch's episodes")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--wqmix", metavar="ALG", help="compare whole updates of this WQMIX config instead")
    options = parser.parse_args()
    torch.set_num_threads(1)
    if options.wqmix:
        wqmix_update_cost(options)
        return

    args, env_info = config_and_env("mast_qmix", options.map)
    learner = build_learner(args, env_info, Logger(get_console_logger("operator_cost")))
    batch = random_episode_batch(env_info, args.batch_size, options.steps, torch.Generator().manual_seed(0))
    update_ms = median_ms(lambda: learner.train(batch, 600000, 10), max(3, options.repeats // 4))

    generator = torch.Generator().manual_seed(1)
    shape = (args.batch_size, options.steps + 1, env_info["n_agents"], env_info["n_actions"])
    target, online = torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
    avail = (torch.rand(shape, generator=generator) < 0.7).int()
    print(f"SMAX {options.map}: Qs {list(shape)}, a MAST-QMIX update on {args.batch_size} episodes of "
          f"{options.steps} steps: {update_ms:.1f} ms (median)")
    print("| operator | ms (median) | share of an update |")
    print("|---|---|---|")
    for label, operator, scale in (("max (double Q)", "max", "fixed"), ("Soft Mellowmax, fixed omega", "soft_mellowmax", "fixed"),
                                   ("Soft Mellowmax, sm_scale spread", "soft_mellowmax", "spread")):
        builder = TargetBuilder(SimpleNamespace(**{**vars(args), "target_operator": operator, "sm_scale": scale}))
        with torch.no_grad():
            cost = median_ms(lambda: builder.agent_next_values(target, online, avail), options.repeats)
        print(f"| {label} | {cost:.2f} | {cost / update_ms:.1%} |")


if __name__ == "__main__":
    main()
