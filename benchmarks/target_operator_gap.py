"""How far below the max does Soft Mellowmax put a trained learner's next-state values?

Loads the learner of saved checkpoints (``results/models/<unique_token>``, the step nearest
``--load-step``, 0 = the latest), collects ``--episodes`` training episodes with its own
epsilon-greedy policy at the checkpoint's t_env, and compares, on every step where an agent
has at least two available actions, the per-agent next-state values of the target network,
each computed by the learners' own :meth:`TargetBuilder.agent_next_values` with the run's
config (``double_q``, ``sm_alpha``) and only the operator and omega replaced:

- ``max``: ``target_operator: max`` (with ``double_q`` the online network selects);
- ``mean``: the mean over the available actions;
- ``SM w``: ``target_operator: soft_mellowmax`` with omega ``w`` (each ``--omega``) as a plain
  number (``sm_scale: fixed``, the paper's), and ``SM w spread``: in units of the spread of
  the utilities (``sm_scale: spread``, scale-free);
- ``toward mean``: ``(max - SM) / (max - mean)``, 0 at the max, 1 at the mean;
- ``Q_tot(SM) - Q_tot(max)``: what that does to the mixed joint value of the step (QMIX's
  target mixer), next to ``Q_tot(max)`` itself; a one-step bias that bootstrapping adds up.

Soft Mellowmax's distance from the max depends on omega times the spread of the agent
utilities, and a QMIX mixer can carry any scale in its own weights, so the same omega can
act as a near-max on one run and a near-mean on another. Prints a markdown table.

    .venv/bin/python benchmarks/target_operator_gap.py results/models/<token> [...] \
        [--load-step 1000000] [--omega 5 10 50] [--episodes 32]
"""

import argparse
import math
import os
import platform
import sys
from collections import Counter
from types import SimpleNamespace

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from learners.targets import TargetBuilder  # noqa: E402
from run.build import build_runner_and_learner  # noqa: E402
from run.state import open_checkpoint, restore_run_state  # noqa: E402
from utils.config import CONFIG_DIR, load_yaml, merge_layer, to_namespace  # noqa: E402
from utils.logging import Logger, get_console_logger  # noqa: E402


def load_run(models_dir, load_step):
    """The runner and learner of a checkpoint, restored, with the runner at its t_env."""
    checkpoint = open_checkpoint(argparse.Namespace(checkpoint_path=models_dir, load_step=load_step))
    # Keys added to default.yaml since the checkpoint was saved take their defaults.
    defaults = load_yaml(os.path.join(CONFIG_DIR, "default.yaml"))
    args = to_namespace(merge_layer(defaults, checkpoint.meta["config"], "the checkpoint", allow_new_keys=True))
    args.device = "cpu"
    logger = Logger(get_console_logger())
    runner, learner = build_runner_and_learner(args, logger)
    restore_run_state(checkpoint, args, {"learner": learner}, logger.console_logger)
    runner.t_env = checkpoint.step
    return args, runner, learner, checkpoint.step


def target_builder(args, operator, omega=None, scale="fixed"):
    """The learners' TargetBuilder for this run's config with another operator (omega, scale)."""
    overrides = {"target_operator": operator, "sm_omega": args.sm_omega if omega is None else omega,
                 "sm_scale": scale}
    return TargetBuilder(SimpleNamespace(**{**vars(args), **overrides}))


def batch_gaps(args, learner, batch, omegas):
    """Sums and counts of each statistic over one episode batch."""
    avail = batch["avail_actions"]
    online = learner.mac.unroll(batch)
    target = learner.target_mac.unroll(batch)
    n_avail = (avail > 0).sum(-1)
    choice = (n_avail >= 2) & batch["filled"].bool()  # agent-steps with a choice to make
    step_real = batch["filled"][..., 0].bool()

    value_max = target_builder(args, "max").agent_next_values(target, online, avail)
    value_mean = (target * (avail > 0)).sum(-1) / n_avail.clamp(min=1)
    q_tot_max = learner.target_mixer(value_max, batch["state"]).squeeze(-1)
    sums = {"max": value_max[choice].sum().item(), "mean": value_mean[choice].sum().item()}
    counts = {"agent": choice.sum().item(), "step": step_real.sum().item()}
    spread = value_max - value_mean
    wide = choice & (spread > 1e-6)
    counts["wide"] = wide.sum().item()
    sums["Q_tot(max)"] = q_tot_max[step_real].sum().item()
    for name, omega, scale in operator_variants(omegas):
        value_sm = target_builder(args, "soft_mellowmax", omega, scale).agent_next_values(target, online, avail)
        sums[name] = value_sm[choice].sum().item()
        sums[f"toward mean {name}"] = ((value_max - value_sm)[wide] / spread[wide]).sum().item()
        q_tot_sm = learner.target_mixer(value_sm, batch["state"]).squeeze(-1)
        sums[f"dQ_tot {name}"] = (q_tot_sm - q_tot_max)[step_real].sum().item()
    return sums, counts


def operator_variants(omegas):
    """``(column name, omega, sm_scale)`` of each Soft Mellowmax measured."""
    return [(f"SM {omega:g}{'' if scale == 'fixed' else ' spread'}", omega, scale)
            for scale in ("fixed", "spread") for omega in omegas]


def measure(models_dir, load_step, omegas, episodes):
    args, runner, learner, step = load_run(models_dir, load_step)
    totals, counts = Counter(), Counter()
    with torch.no_grad():
        for _ in range(math.ceil(episodes / runner.batch_size)):
            sums, batch_counts = batch_gaps(args, learner, runner.run(test_mode=False), omegas)
            totals.update(sums)
            counts.update(batch_counts)
    runner.close_env()
    per_agent = lambda key: totals[key] / counts["agent"]  # noqa: E731
    row = {"run": os.path.basename(os.path.normpath(models_dir)), "t_env": step, "alpha": args.sm_alpha,
           "max": per_agent("max"), "mean": per_agent("mean"), "Q_tot(max)": totals["Q_tot(max)"] / counts["step"]}
    for name, _, _ in operator_variants(omegas):
        row[name] = per_agent(name)
        row[f"toward mean {name}"] = totals[f"toward mean {name}"] / max(counts["wide"], 1)
        row[f"Q_tot({name}) - Q_tot(max)"] = totals[f"dQ_tot {name}"] / counts["step"]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models_dirs", nargs="+", help="results/models/<unique_token> directories")
    parser.add_argument("--load-step", type=int, default=0, help="the saved step nearest this (0: the latest)")
    parser.add_argument("--omega", type=float, nargs="+", default=[5.0, 10.0, 50.0], help="Soft Mellowmax omegas")
    parser.add_argument("--episodes", type=int, default=32, help="training episodes collected per checkpoint")
    options = parser.parse_args()
    torch.set_num_threads(1)

    rows = [measure(path, options.load_step, options.omega, options.episodes) for path in options.models_dirs]
    columns = list(rows[0])
    print(f"# {' '.join(sys.argv)}")
    print(f"# {platform.node()}, torch {torch.__version__}; per-agent values over agent-steps with >= 2 actions")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{value:.3f}" if isinstance(value, float) else str(value) for value in row.values()) + " |")


if __name__ == "__main__":
    main()
