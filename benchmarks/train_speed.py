"""Training speed of one configuration: env steps per second, and where the time goes.

Runs the training loop of ``src/main.py`` (no Sacred records, no checkpoints) for
``--steps`` env steps and prints the rate with its split: collection (training
episodes), learner (sampling a batch and the update), test (greedy test episodes) and
other (the rest of the loop: buffer inserts, logging). Startup (building the env and the
networks, and the first collection, which compiles the env) is reported on its own and
left out of the rate.

    python benchmarks/train_speed.py --steps 30000 --config=qmix --env-config=smax with env_args.map_name=3m

To compare with another checkout (main before a change, say), name its ``src``
directory: both run as separate processes, interleaved (A, B, A, B, ...) for
``--rounds`` rounds, and the ratio of their rates is printed with its min/median/max:

    git worktree add /tmp/before <commit>
    python benchmarks/train_speed.py --against /tmp/before/src --rounds 3 --steps 30000 \\
        --config=qmix --env-config=smax with env_args.map_name=3m
"""

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

OWN_SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
PARTS = ("collection", "learner", "test", "other")


class LoopClock:
    """Wall time per part of the training loop, counted from the end of the first collection.

    A timed call made inside another timed call (a subclass calling its base) counts once.
    """

    def __init__(self):
        self.seconds = dict.fromkeys(PARTS[:-1], 0.0)
        self.depth = 0
        self.runner = None
        self.start = self.start_t_env = None

    def time_method(self, cls, method, part_of):
        original = getattr(cls, method)

        def timed(obj, *args, **kwargs):
            if self.depth:
                return original(obj, *args, **kwargs)
            self.depth += 1
            began = time.perf_counter()
            try:
                return original(obj, *args, **kwargs)
            finally:
                self.depth -= 1
                part = part_of(*args, **kwargs)
                if self.start is not None:
                    self.seconds[part] += time.perf_counter() - began
                elif part == "collection":  # the first collection ends the startup
                    self.runner, self.start, self.start_t_env = obj, time.perf_counter(), obj.t_env

        setattr(cls, method, timed)


def defining(registry, method):
    """The classes of ``registry`` that define ``method`` themselves (not only by inheritance)."""
    return {cls for cls in registry.values() if method in vars(cls)}


def measure(src, steps, main_argv):
    """Train from the checkout ``src`` for ``steps`` env steps; returns the figures as a dict."""
    sys.path.insert(0, src)
    import torch

    import main as entry
    # the training loop: src/run/loop.py, or src/run.py in checkouts before the run package
    training = importlib.import_module("run.loop" if os.path.isdir(os.path.join(src, "run")) else "run")
    from components import BUFFER_REGISTRY
    from learners import REGISTRY as LEARNER_REGISTRY
    from runners import REGISTRY as RUNNER_REGISTRY
    from utils.config import to_namespace
    from utils.logging import Logger, get_console_logger

    config, _ = entry.prepare_config([os.path.join(src, "main.py"), *main_argv, f"t_max={steps}",
                                      "save_model=False", "progress_bar=False"])
    args = to_namespace(config)
    args.device, args.unique_token = "cpu", "train_speed"
    torch.set_num_threads(args.torch_threads)
    training.seed_everything(1 if args.seed is None else args.seed)

    clock = LoopClock()
    for cls in defining(RUNNER_REGISTRY, "run"):
        clock.time_method(cls, "run", lambda test_mode=False: "test" if test_mode else "collection")
    for cls in defining(LEARNER_REGISTRY, "train"):
        clock.time_method(cls, "train", lambda *args, **kwargs: "learner")
    for cls in defining(BUFFER_REGISTRY, "sample"):
        clock.time_method(cls, "sample", lambda *args, **kwargs: "learner")

    console = get_console_logger("train_speed")
    console.setLevel("WARNING")
    began = time.perf_counter()
    training.run_sequential(args, Logger(console), None)
    ended = time.perf_counter()
    loop_s = ended - clock.start
    split = {**clock.seconds, "other": loop_s - sum(clock.seconds.values())}
    env_steps = clock.runner.t_env - clock.start_t_env
    return {"src": src, "config": main_argv, "startup_s": clock.start - began, "loop_s": loop_s,
            "env_steps": env_steps, "steps_per_s": env_steps / loop_s, "split_s": split}


def report(figures):
    lines = [f"config: {' '.join(figures['config'])}  (src: {figures['src']})",
             f"startup (build, compile, first collection): {figures['startup_s']:.1f} s",
             f"{figures['env_steps']} env steps in {figures['loop_s']:.1f} s: {figures['steps_per_s']:.0f} env steps/s",
             "| part | seconds | share |", "|---|---|---|"]
    for part in PARTS:
        seconds = figures["split_s"][part]
        lines.append(f"| {part} | {seconds:.1f} | {seconds / figures['loop_s']:.0%} |")
    return "\n".join(lines)


def run_child(src, options, main_argv):
    command = [sys.executable, os.path.abspath(__file__), "--json", "--src", src, "--steps", str(options.steps),
               *main_argv]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: the run from {src} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(options, main_argv):
    """Interleaved rounds of this checkout (A) and ``--against`` (B); prints the rates and A/B."""
    sources = {"A": options.src, "B": os.path.abspath(options.against)}
    rounds = []
    for round_index in range(options.rounds):
        figures = {name: run_child(src, options, main_argv) for name, src in sources.items()}
        rounds.append(figures)
        print(f"round {round_index + 1}: " + ", ".join(
            f"{name} {f['steps_per_s']:.0f} env steps/s (learner {f['split_s']['learner']:.1f} s, "
            f"collection {f['split_s']['collection']:.1f} s, startup {f['startup_s']:.1f} s)"
            for name, f in figures.items()), flush=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{options.steps} env steps per run; config: {' '.join(main_argv)}")
    print(f"A: {sources['A']}\nB: {sources['B']}")
    print("| figure | A (median) | B (median) | A / B: min / median / max |")
    print("|---|---|---|---|")
    figures_of = {
        "env steps/s": lambda f: f["steps_per_s"],
        "learner s": lambda f: f["split_s"]["learner"],
        "collection s": lambda f: f["split_s"]["collection"],
        "test s": lambda f: f["split_s"]["test"],
        "startup s": lambda f: f["startup_s"],
    }
    for label, value in figures_of.items():
        a = [value(r["A"]) for r in rounds]
        b = [value(r["B"]) for r in rounds]
        ratios = [x / y for x, y in zip(a, b)]
        print(f"| {label} | {statistics.median(a):.1f} | {statistics.median(b):.1f} | "
              f"{min(ratios):.2f} / {statistics.median(ratios):.2f} / {max(ratios):.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30000, help="env steps to train (t_max)")
    parser.add_argument("--src", default=OWN_SRC, help="the src/ directory of the checkout to measure")
    parser.add_argument("--against", help="another checkout's src/ directory: compare, interleaved")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the comparison")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    options, main_argv = parser.parse_known_args()
    options.src = os.path.abspath(options.src)
    if options.against:
        compare(options, main_argv)
    else:
        figures = measure(options.src, options.steps, main_argv)
        print(json.dumps(figures) if options.json else report(figures))


if __name__ == "__main__":
    main()
