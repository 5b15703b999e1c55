"""Throughput of a sweep: the same real runs one after another with main.py, and as one
sweep (src/sweep.py, a local Ray on every core), wall time side by side, rounds interleaved
(sequential first in odd rounds, the sweep first in even ones).

    python benchmarks/sweep_throughput.py --runs 4 --rounds 2 -- --config=qmix --env-config=smax \\
        with env_args.map_name=3m t_max=20000
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable


def timed(command):
    started = time.time()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command[:4])} ... failed:\n{(result.stdout + result.stderr)[-2000:]}")
    return time.time() - started


def sequential(run_args, seeds, results):
    return timed(["bash", "-c", " && ".join(
        " ".join([PYTHON, "src/main.py", *run_args, f"seed={seed}", f"local_results_path={results}"]) for seed in seeds)])


def as_sweep(run_args, seeds, results, round_index):
    return timed([PYTHON, "src/sweep.py", *run_args, f"seed=[{','.join(map(str, seeds))}]",
                  f"local_results_path={results}", f"sweep_name=throughput{round_index}", "save_model=False"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="runs per round (seeds 1..runs)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("run_args", nargs=argparse.REMAINDER, help="-- then main.py's arguments (with ... included)")
    options = parser.parse_args()
    run_args = [arg for arg in options.run_args if arg != "--"]
    seeds = list(range(1, options.runs + 1))
    times = {"sequential": [], "sweep": []}
    scratch = tempfile.mkdtemp(prefix="sweep_throughput_")
    try:
        for index in range(options.rounds):
            order = ["sequential", "sweep"] if index % 2 == 0 else ["sweep", "sequential"]
            for kind in order:
                results = os.path.join(scratch, f"{kind}{index}")
                seconds = (sequential(run_args, seeds, results) if kind == "sequential"
                           else as_sweep(run_args, seeds, results, index))
                times[kind].append(seconds)
                print(f"round {index + 1}: {kind} {seconds:.0f} s", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{options.runs} runs: python src/main.py {' '.join(run_args)} seed=1..{options.runs}; "
          f"{os.cpu_count()} CPUs, {options.rounds} interleaved rounds")
    print("| how | wall s min / median / max |")
    print("|---|---|")
    for kind, values in times.items():
        print(f"| {kind} | {min(values):.0f} / {statistics.median(values):.0f} / {max(values):.0f} |")
    ratio = statistics.median(times["sequential"]) / statistics.median(times["sweep"])
    print(f"sequential / sweep (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
