"""Learner-update time on the CPU against the GPU (``use_cuda``), for QMIX and MAST-QMIX.

Each learner is built from the real configs (``algs/<alg>.yaml`` on ``envs/smax.yaml``) with the
map's shapes, once per device, and trains on the same batch of random episodes of the
config's batch size; the devices alternate round after round (interleaved), each update
timed to the end of its GPU work (``torch.cuda.synchronize``). The batch starts in CPU memory
each round and is moved to the device inside the timed update, as the run does with
``buffer_cpu_only: True``. Without a visible GPU it times the CPU alone and says so.

    python benchmarks/update_device_cost.py --map 3m --steps 30 --rounds 20
"""

import argparse
import copy
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from components.random_episodes import random_episode_batch  # noqa: E402
from operator_cost import config_and_env  # noqa: E402
from run.build import build_learner  # noqa: E402
from utils.logging import Logger, get_console_logger  # noqa: E402


def learner_on(args, env_info, device):
    """The learner of ``args`` (a copy set to ``device``), built on the CPU and moved to ``device``."""
    args = copy.copy(args)
    args.device = device
    torch.manual_seed(0)
    return build_learner(args, env_info, Logger(get_console_logger("update_device_cost"))).to(device)


def timed_update(learner, batch, device, round_index):
    """Seconds of one update, from the batch in CPU memory to the end of the device's work."""
    start = time.perf_counter()
    learner.train(batch.to(device), t_env=600_000 + round_index, episode_num=round_index)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="3m")
    parser.add_argument("--steps", type=int, default=30, help="transitions per random episode")
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (after 3 warm-up rounds)")
    parser.add_argument("--algs", default="qmix,mast_qmix")
    options = parser.parse_args()
    torch.set_num_threads(1)  # the torch_threads default
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    gpu = torch.cuda.get_device_name(0) if "cuda" in devices else "none visible: CPU only"
    print(f"SMAX {options.map}, episodes of {options.steps} steps, {options.rounds} interleaved rounds, "
          f"torch {torch.__version__}, 1 CPU thread, GPU: {gpu}")
    print("| alg | device | update ms min / median / max | CPU / device (medians) |")
    print("|---|---|---|---|")
    for alg in options.algs.split(","):
        args, env_info = config_and_env(alg, options.map)
        learners = {device: learner_on(args, env_info, device) for device in devices}
        batch = random_episode_batch(env_info, args.batch_size, options.steps, torch.Generator().manual_seed(0))
        times = {device: [] for device in devices}
        for round_index in range(options.rounds + 3):
            for device, learner in learners.items():
                seconds = timed_update(learner, batch, device, round_index)
                if round_index >= 3:
                    times[device].append(1000 * seconds)
                batch.to("cpu")
        cpu_median = statistics.median(times["cpu"])
        for device, row in times.items():
            print(f"| {alg} | {device} | {min(row):.1f} / {statistics.median(row):.1f} / {max(row):.1f} | "
                  f"{cpu_median / statistics.median(row):.2f} |", flush=True)


if __name__ == "__main__":
    main()
