"""The cost of masking: learner-update time of a 90% sparse RigL QMIX against the dense QMIX.

Both learners are built from the real configs (``algs/rigl_qmix.yaml`` and ``algs/qmix.yaml``
on ``envs/smax.yaml``) with SMAX 3m's shapes and train on the same random episode batches,
one dense update then one sparse update, round after round, so that both see the same
machine load. RigL's topology updates (every ``sparse.update_interval`` updates) are inside
the measured updates. Besides whole-update times, the time spent in the sparse trainer's two
calls (gradient masking, re-masking and topology updates) is measured directly.

    .venv/bin/python benchmarks/sparse_update_cost.py [--rounds-long 30] [--rounds-short 60]
"""

import argparse
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from components.random_episodes import SMAX_3M_ENV_INFO, random_episode_batch  # noqa: E402
from run.build import build_learner as run_build_learner  # noqa: E402
from utils.config import layered_config, to_namespace  # noqa: E402
from utils.logging import Logger, get_console_logger  # noqa: E402


def build_learner(alg):
    config = layered_config(alg, "smax")
    config["seed"] = 0
    return run_build_learner(to_namespace(config), SMAX_3M_ENV_INFO, Logger(get_console_logger()))


def time_sparse_calls(trainer):
    """Wrap the trainer's two learner calls to accumulate their time in ``times`` (seconds)."""
    times = []
    for name in ("after_backward", "after_step"):
        call = getattr(trainer, name)

        def timed(t_env, call=call):
            start = time.perf_counter()
            call(t_env)
            times.append(time.perf_counter() - start)

        setattr(trainer, name, timed)
    return times


def compare(steps, rounds, generator):
    dense, sparse = build_learner("qmix"), build_learner("rigl_qmix")
    sparse_call_times = time_sparse_calls(sparse.sparse)
    batches = [random_episode_batch(SMAX_3M_ENV_INFO, dense.args.batch_size, steps, generator) for _ in range(4)]
    dense_times, sparse_times = [], []
    for round_index in range(rounds + 2):  # two warm-up rounds, not counted
        batch = batches[round_index % len(batches)]
        for learner, times in ((dense, dense_times), (sparse, sparse_times)):
            start = time.perf_counter()
            learner.train(batch, t_env=round_index * steps, episode_num=round_index)
            times.append(time.perf_counter() - start)
    dense_times, sparse_times = dense_times[2:], sparse_times[2:]
    calls = [a + b for a, b in zip(sparse_call_times[0::2], sparse_call_times[1::2])][2:]
    interval = sparse.args.sparse.update_interval
    topology = [calls[i] for i in range(len(calls)) if (i + 3) % interval == 0]
    return {
        "steps": steps, "rounds": rounds, "topology_updates": len(topology),
        "dense_mean": statistics.mean(dense_times), "sparse_mean": statistics.mean(sparse_times),
        "dense_median": statistics.median(dense_times), "sparse_median": statistics.median(sparse_times),
        "sparse_calls_mean": statistics.mean(calls),
        "topology_update_mean": statistics.mean(topology) if topology else float("nan"),
    }


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else the machine type."""
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds-long", type=int, default=30, help="rounds with 100-step episodes")
    parser.add_argument("--rounds-short", type=int, default=60, help="rounds with 25-step episodes")
    options = parser.parse_args()
    torch.set_num_threads(1)  # the torch_threads default
    generator = torch.Generator().manual_seed(0)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"torch {torch.__version__}, 1 torch thread")
    print("| episode steps | rounds | dense update (mean / median) | sparse RigL update (mean / median) "
          "| ratio of means | ratio of medians | sparse-trainer calls per update | topology update |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for steps, rounds in ((100, options.rounds_long), (25, options.rounds_short)):
        r = compare(steps, rounds, generator)
        print(f"| {steps} | {rounds} | {r['dense_mean'] * 1e3:.1f} / {r['dense_median'] * 1e3:.1f} ms "
              f"| {r['sparse_mean'] * 1e3:.1f} / {r['sparse_median'] * 1e3:.1f} ms "
              f"| {r['sparse_mean'] / r['dense_mean']:.3f} | {r['sparse_median'] / r['dense_median']:.3f} "
              f"| {r['sparse_calls_mean'] * 1e3:.2f} ms "
              f"({r['sparse_calls_mean'] / r['dense_mean'] * 100:.1f}% of dense) "
              f"| {r['topology_update_mean'] * 1e3:.1f} ms (x{r['topology_updates']}) |", flush=True)


if __name__ == "__main__":
    main()
