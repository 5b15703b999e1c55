"""Which weights are masked, and how the sparsity is shared out (uniform, ERK)."""

import math

import pytest
import torch

from sparse.distributions import erk_densities, network_counts, nonzero_counts
from sparse.masks import magnitude_mask, maskable_weights
from sparse_setup import make_learner, sparse_args
from utils.config import ConfigError

AGENT_WEIGHTS = ["agent.fc1.weight", "agent.rnn.weight_ih", "agent.rnn.weight_hh", "agent.fc2.weight"]
QMIX_WEIGHTS = [
    "mixer.hyper_w_1.0.weight", "mixer.hyper_w_1.2.weight", "mixer.hyper_w_final.0.weight",
    "mixer.hyper_w_final.2.weight", "mixer.hyper_b_1.weight", "mixer.V.0.weight", "mixer.V.2.weight",
]


def zeros(tensor):
    return tensor.numel() - int(torch.count_nonzero(tensor))


def test_every_weight_matrix_is_masked_gru_included_and_biases_are_not():
    learner = make_learner(sparse_args())
    assert list(learner.sparse.weights) == AGENT_WEIGHTS + QMIX_WEIGHTS
    assert learner.sparse.weights["agent.rnn.weight_ih"] is learner.mac.agent.rnn.weight_ih
    assert learner.sparse.weights["agent.rnn.weight_hh"] is learner.mac.agent.rnn.weight_hh
    for name, bias in learner.mac.agent.named_parameters():
        if bias.dim() == 1:
            assert zeros(bias) == 0, name


@pytest.mark.parametrize("sparsity", [0.9, 0.95, 0.5])
def test_uniform_sparsity_is_exact_per_layer_and_overall(sparsity):
    learner = make_learner(sparse_args(sparsity=sparsity, distribution="uniform"))
    weights = learner.sparse.weights
    total = sum(w.numel() for w in weights.values())
    for name, weight in weights.items():
        assert abs(zeros(weight) - sparsity * weight.numel()) <= 1, name
    assert sum(zeros(w) for w in weights.values()) == total - round((1 - sparsity) * total)
    assert learner.sparse.sparsity() == pytest.approx(sparsity, abs=0.5 / total)


def test_gru_matrices_hold_the_requested_sparsity():
    learner = make_learner(sparse_args(sparsity=0.9))
    rnn = learner.mac.agent.rnn
    for weight in (rnn.weight_ih, rnn.weight_hh):
        assert zeros(weight) == pytest.approx(0.9 * weight.numel(), abs=1)


def test_erk_density_follows_fan_in_plus_fan_out_and_total_is_exact():
    learner = make_learner(sparse_args(sparsity=0.9, distribution="erk"))
    weights = learner.sparse.weights
    total = sum(w.numel() for w in weights.values())
    nonzeros = {name: int(torch.count_nonzero(w)) for name, w in weights.items()}
    assert sum(nonzeros.values()) == round(0.1 * total)
    sparse_layers = [name for name, w in weights.items() if nonzeros[name] < w.numel()]
    scales = [
        nonzeros[name] / weights[name].numel() / (sum(weights[name].shape) / weights[name].numel())
        for name in sparse_layers
    ]
    # density / ((fan_in + fan_out) / (fan_in * fan_out)) is one constant over the sparse layers
    for name, scale in zip(sparse_layers, scales):
        assert scale == pytest.approx(scales[0], rel=0.02, abs=1.5 / weights[name].numel()), name
    # the small 32 -> 1 V output layer would exceed density 1 and is made dense
    assert nonzeros["mixer.V.2.weight"] == weights["mixer.V.2.weight"].numel()


def test_erk_redistributes_layers_above_density_one():
    shapes = {"big": (1000, 1000), "small": (10, 2), "medium": (300, 200)}
    densities = erk_densities(shapes, 0.9)
    assert densities["small"] == 1.0
    raw = {name: sum(shape) / math.prod(shape) for name, shape in shapes.items()}
    assert densities["big"] / raw["big"] == pytest.approx(densities["medium"] / raw["medium"])
    counts = nonzero_counts(shapes, 0.9, "erk")
    total = sum(math.prod(shape) for shape in shapes.values())
    assert counts["small"] == 20
    assert sum(counts.values()) == round(0.1 * total)
    for name, shape in shapes.items():
        assert abs(counts[name] - densities[name] * math.prod(shape)) <= 1


def test_erk_redistributes_again_when_the_first_pass_pushes_another_layer_over_one():
    shapes = {"a": (4, 2), "b": (8, 3), "c": (200, 200)}
    densities = erk_densities(shapes, 0.5)
    assert densities["a"] == 1.0 and densities["b"] == 1.0
    assert sum(nonzero_counts(shapes, 0.5, "erk").values()) == round(0.5 * (8 + 24 + 40000))


@pytest.mark.parametrize("distribution", ["uniform", "erk"])
def test_a_network_given_its_own_sparsity_leaves_the_others_the_rest_of_the_budget(distribution):
    shapes = {"agent.a": (64, 86), "agent.b": (192, 64), "mixer.c": (64, 72), "mixer.d": (32, 64)}
    counts = network_counts(shapes, 0.9, distribution, {"agent": 0.88})
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    agent = sum(counts[name] for name in shapes if name.startswith("agent."))
    assert agent == round(0.12 * (sizes["agent.a"] + sizes["agent.b"]))
    assert sum(counts.values()) == round(0.1 * sum(sizes.values()))  # the total budget is kept
    assert network_counts(shapes, 0.9, distribution, {}) == nonzero_counts(shapes, 0.9, distribution)


@pytest.mark.parametrize("network_sparsity, message", [
    ({"agent": 0.5}, r"leaves the other networks \(mixer\) a sparsity of 1.4\d\d to meet sparse.sparsity 0.9"),
    ({"agent": 0.9, "mixer": 0.9}, "names every masked network: leave at least one out"),
    ({"central_agent": 0.5}, r"names central_agent, not a masked network \(the masked networks are: agent, mixer\)"),
])
def test_an_impossible_network_budget_is_a_config_error_naming_it(network_sparsity, message):
    with pytest.raises(ConfigError, match=message):
        make_learner(sparse_args(sparsity=0.9, network_sparsity=network_sparsity))


def test_the_agent_denser_and_the_mixer_sparser_on_3m():
    trainer = make_learner(sparse_args(sparsity=0.9, network_sparsity={"agent": 0.86})).sparse
    def sparsity_of(network):
        weights = [w for name, w in trainer.weights.items() if name.startswith(network + ".")]
        return 1.0 - sum(int(torch.count_nonzero(w)) for w in weights) / sum(w.numel() for w in weights)
    assert sparsity_of("agent") == pytest.approx(0.86, abs=1e-4)
    assert sparsity_of("mixer") == pytest.approx(0.9555, abs=1e-3)
    assert trainer.sparsity() == pytest.approx(0.9, abs=1e-4)


def test_dense_layers_stay_dense_and_the_rest_carry_the_sparsity():
    learner = make_learner(sparse_args(sparsity=0.9, dense_layers=["agent.fc2", "mixer.hyper_w_1"]))
    assert "agent.fc2.weight" not in learner.sparse.weights
    assert not any(name.startswith("mixer.hyper_w_1.") for name in learner.sparse.weights)
    assert zeros(learner.mac.agent.fc2.weight) == 0
    assert zeros(learner.mixer.hyper_w_1[2].weight) == 0
    assert learner.sparse.sparsity() == pytest.approx(0.9, abs=1e-4)


def test_a_dense_layer_name_matching_nothing_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="agent.fc3.*matches no weight matrix.*agent.fc1.weight"):
        make_learner(sparse_args(dense_layers=["agent.fc3"]))


def test_dense_layers_may_not_cover_every_weight():
    with pytest.raises(ConfigError, match="every weight matrix dense"):
        make_learner(sparse_args(mixer="vdn", dense_layers=["agent"]))


def test_maskable_weights_skip_vectors_and_follow_network_order():
    networks = {"net": torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))}
    assert list(maskable_weights(networks, [])) == ["net.0.weight", "net.2.weight"]


def test_magnitude_init_keeps_the_largest_weights():
    weight = torch.tensor([[0.1, -3.0, 0.2], [2.0, -0.05, 1.0]])
    assert magnitude_mask(weight, 3).tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]


def test_random_init_masks_differ_by_seed_and_repeat_with_it():
    first = make_learner(sparse_args(seed=1)).sparse.masks["agent.fc1.weight"]
    again = make_learner(sparse_args(seed=1)).sparse.masks["agent.fc1.weight"]
    other = make_learner(sparse_args(seed=2)).sparse.masks["agent.fc1.weight"]
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
