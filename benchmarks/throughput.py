"""Env steps per second of episode collection: `vectorized` vs `parallel` runner.

Both runners collect with the same QMIX controller (epsilon-greedy at epsilon 1, the
start of training) on the same map and batch_size_run, interleaved round by round in one
process so that both see the same machine load. Prints a Markdown table.

    python benchmarks/throughput.py --map 3m --batch-size-run 8 --rounds 5 --episodes-per-round 80
"""

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import torch  # noqa: E402

from controllers import REGISTRY as MAC_REGISTRY  # noqa: E402
from components.episode_batch import build_scheme  # noqa: E402
from runners import REGISTRY as RUNNER_REGISTRY  # noqa: E402
from utils.config import layered_config, to_namespace  # noqa: E402
from utils.logging import Logger, get_console_logger  # noqa: E402


def make_runner(name, map_name, batch_size_run):
    config = layered_config("qmix", "smax")
    config["env_args"]["map_name"] = map_name
    config.update(runner=name, batch_size_run=batch_size_run, seed=0)
    args = to_namespace(config)
    args.device = "cpu"
    runner = RUNNER_REGISTRY[name](args, Logger(get_console_logger("bench")))
    info = runner.get_env_info()
    args.n_agents, args.n_actions = info["n_agents"], info["n_actions"]
    scheme, groups, preprocess = build_scheme(info)
    mac = MAC_REGISTRY[args.mac]({**scheme, "actions_onehot": {"vshape": (info["n_actions"],)}}, groups, args)
    runner.setup(scheme, groups, preprocess, mac)
    return runner


def collect(runner, episodes):
    """Env steps per second over ``episodes`` episodes (whole runner calls)."""
    start_t, start = runner.t_env, time.perf_counter()
    for _ in range(max(1, episodes // runner.batch_size)):
        runner.run(test_mode=False)
    return (runner.t_env - start_t) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="3m")
    parser.add_argument("--batch-size-run", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--episodes-per-round", type=int, default=80)
    options = parser.parse_args()
    torch.set_num_threads(1)

    runners = {name: make_runner(name, options.map, options.batch_size_run) for name in ("vectorized", "parallel")}
    for runner in runners.values():  # compile and warm up
        collect(runner, options.batch_size_run)
    rates = {name: [] for name in runners}
    for _ in range(options.rounds):
        for name, runner in runners.items():
            rates[name].append(collect(runner, options.episodes_per_round))
    for runner in runners.values():
        runner.close_env()

    median = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads 1")
    print(f"map {options.map}, batch_size_run {options.batch_size_run}, {options.rounds} interleaved rounds "
          f"of {options.episodes_per_round} episodes each")
    print("| runner | env steps/s (median) | all rounds |")
    print("|---|---|---|")
    for name in runners:
        print(f"| {name} | {median[name]:.0f} | {', '.join(f'{r:.0f}' for r in rates[name])} |")
    print(f"vectorized / parallel: {median['vectorized'] / median['parallel']:.2f}x")


if __name__ == "__main__":
    main()
