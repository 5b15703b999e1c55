"""The sparse topology of a saved MAST (or any sparse) checkpoint, as the paper's mask figures.

Draws every masked layer's mask (agent: fc1, the GRU's weight_ih and weight_hh, fc2; the
mixer's hypernetwork layers) as a black-and-white image, one row per output unit, and, for
the agent's input layer, the count of active connections of each input feature: SMAX's
observation (the other allies' features, the enemies', the agent's own), the last action and
the agent id, with names read from the scenario. A shared agent network (``n_rnn``) has one
mask for every agent; what differs between unit types is the part of the input only that
type turns on: its own unit-type bit and its agents' id inputs. Their active connections are
printed per unit type, as a Markdown table. With one network per agent (``rnn_ns``) each
layer's image stacks the agents' masks top to bottom, the input figure shows the mean over
agents, and the table gives each agent's count of active input connections, by unit type
(the paper's figure 12).

    python benchmarks/plot_masks.py results/models/<unique_token> --out-dir docs/img/masks_2s3z
"""

import argparse
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from run.state import open_checkpoint  # noqa: E402
from utils.checkpoint import read_state  # noqa: E402
from utils.config import ConfigError  # noqa: E402

AGENT_INPUT = "agent.fc1.weight"


def saved_masks(models_dir, load_step):
    """``(masks {name: array [out, in], or [agents, out, in] per agent}, config, step)`` of a
    checkpoint's online networks."""
    checkpoint = open_checkpoint(argparse.Namespace(checkpoint_path=models_dir, load_step=load_step))
    if checkpoint.from_pymarl:
        raise SystemExit(f"error: {checkpoint.path} holds PyMARL2's files only, which carry no masks")
    sparse = read_state(checkpoint.path, "learner").get("sparse")
    if sparse is None:
        raise SystemExit(f"error: {checkpoint.path} is a dense run's checkpoint: it has no masks")
    masks = {name: mask.numpy() for name, mask in sparse["masks"].items()}
    return masks, checkpoint.meta["config"], checkpoint.step


def input_feature_names(config):
    """Names of the agent network's inputs in order: SMAX's observation, then the last action
    and the agent id when the config adds them; and each agent's unit type name."""
    if config["env"] != "smax":
        raise SystemExit(f"error: input feature names are known for SMAX only, not '{config['env']}'")
    import jaxmarl
    from jaxmarl.environments.smax import map_name_to_scenario

    scenario = map_name_to_scenario(config["env_args"]["map_name"])
    env = jaxmarl.make("HeuristicEnemySMAX", scenario=scenario)
    type_names = [env.unit_type_names[int(t)] for t in scenario.unit_types]
    names = [f"ally {k + 1}: {feature}" for k in range(env.num_allies - 1) for feature in env.unit_features]
    names += [f"enemy {k + 1}: {feature}" for k in range(env.num_enemies) for feature in env.unit_features]
    names += [f"own: {feature}" for feature in env.own_features]
    if config["obs_last_action"]:
        names += [f"last action {a}" for a in range(env.num_ally_actions)]
    if config["obs_agent_id"]:
        names += [f"agent id {i}" for i in range(env.num_agents)]
    return names, type_names[:env.num_agents], env.unit_type_names


def draw_layer_masks(masks, step, path):
    """Every mask as an image, white where a connection is active."""
    n_columns = 4
    n_rows = math.ceil(len(masks) / n_columns)
    figure, axes = plt.subplots(n_rows, n_columns, figsize=(4 * n_columns, 3.4 * n_rows), squeeze=False)
    for axis, (name, mask) in zip(axes.flat, masks.items()):
        shape = "x".join(map(str, mask.shape))
        mask = mask.reshape(-1, mask.shape[-1])  # per-agent masks stacked top to bottom
        axis.imshow(mask, cmap="gray", interpolation="nearest", aspect="auto")
        axis.set_title(f"{name}\n{shape}, density {mask.mean():.3f}", fontsize=8)
        axis.set_xlabel("input", fontsize=7)
        axis.set_ylabel("output unit", fontsize=7)
        axis.tick_params(labelsize=6)
    for axis in list(axes.flat)[len(masks):]:
        axis.axis("off")
    figure.suptitle(f"Masks at t_env {step} (white: active)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def draw_input_connections(counts, names, n_units, path):
    """Active connections of each input feature of the agent's first layer, by input block."""
    blocks = [name.split(":")[0].rstrip("0123456789 ") for name in names]  # "ally 2: health" -> "ally"
    colours = {block: plt.cm.tab10(i % 10) for i, block in enumerate(dict.fromkeys(blocks))}
    figure, axis = plt.subplots(figsize=(max(10, len(names) * 0.09), 4))
    axis.bar(range(len(names)), counts, color=[colours[block] for block in blocks], width=0.85)
    mean_line = axis.axhline(counts.mean(), color="black", linewidth=0.8, linestyle="--")
    handles = [Patch(color=colour, label=block) for block, colour in colours.items()]
    axis.legend(handles + [mean_line], list(colours) + [f"mean {counts.mean():.1f}"], fontsize=7, ncol=3)
    axis.set_xlim(-1, len(names))
    axis.set_ylabel(f"active connections (of {n_units} units)")
    axis.set_xlabel("input feature of the agent network")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def unit_type_table(counts, names, agent_types, type_names):
    """Markdown: per unit type, its agents and the active connections of the inputs only it turns on."""
    index = {name: i for i, name in enumerate(names)}
    lines = ["| unit type | agents | active connections of its own unit-type bit | of its agents' id inputs (each) |",
             "|---|---|---|---|"]
    for type_name in dict.fromkeys(agent_types):
        agents = [i for i, name in enumerate(agent_types) if name == type_name]
        bit = counts[index[f"own: unit_type_bit_{type_names.index(type_name)}"]]
        ids = [str(int(counts[index[f"agent id {i}"]])) for i in agents if f"agent id {i}" in index]
        lines.append(f"| {type_name} | {', '.join(map(str, agents))} | {int(bit)} | {' / '.join(ids) or '-'} |")
    return "\n".join(lines)


def per_agent_table(agent_input_mask, agent_types):
    """Markdown: each agent's active input connections (``rnn_ns``: one input layer per agent)."""
    totals = agent_input_mask.sum(axis=(1, 2)).astype(np.int64)
    lines = ["| agent | unit type | active connections of its input layer |", "|---|---|---|"]
    lines += [f"| {i} | {agent_types[i]} | {totals[i]} |" for i in range(len(totals))]
    for type_name in dict.fromkeys(agent_types):
        of_type = [totals[i] for i, name in enumerate(agent_types) if name == type_name]
        lines.append(f"| mean of the {type_name}s | {type_name} | {np.mean(of_type):.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a run's model directory, results/models/<unique_token>")
    parser.add_argument("--load-step", type=int, default=0, help="the saved step (0 = the latest, else the closest)")
    parser.add_argument("--out-dir", required=True, help="where the two PNG figures go")
    options = parser.parse_args()
    try:
        masks, config, step = saved_masks(options.checkpoint, options.load_step)
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from None
    os.makedirs(options.out_dir, exist_ok=True)
    draw_layer_masks(masks, step, os.path.join(options.out_dir, "layer_masks.png"))
    print(f"Checkpoint {options.checkpoint}, t_env {step}: {len(masks)} masked layers, "
          f"wrote {os.path.join(options.out_dir, 'layer_masks.png')}")
    if AGENT_INPUT not in masks:
        print(f"{AGENT_INPUT} is dense in this run: no input-feature figure")
        return
    names, agent_types, type_names = input_feature_names(config)
    agent_input = masks[AGENT_INPUT]
    per_agent = agent_input.ndim == 3
    counts = agent_input.sum(axis=-2)  # [inputs], or [agents, inputs] per agent
    counts = counts.mean(axis=0) if per_agent else counts.astype(np.int64)
    if len(names) != len(counts):
        raise SystemExit(f"error: the agent's input layer has {len(counts)} inputs, the scenario's names {len(names)}")
    draw_input_connections(counts, names, agent_input.shape[-2],
                           os.path.join(options.out_dir, "input_connections.png"))
    print(f"wrote {os.path.join(options.out_dir, 'input_connections.png')}")
    print()
    print(per_agent_table(agent_input, agent_types) if per_agent
          else unit_type_table(counts, names, agent_types, type_names))
    busiest = np.argsort(-counts)[:8]
    print()
    print("Inputs with the most active connections: "
          + ", ".join(f"{names[i]} ({counts[i]:g})" for i in busiest))


if __name__ == "__main__":
    main()
