"""PyMARL2's checkpoint files (issue 18, item 2): ``agent.th``, ``mixer.th`` and ``opt.th``
beside every saved step in PyMARL2's layout; a directory of PyMARL2's files evaluated and
trained from; what does not fit named in one line."""

import os
import shutil
from types import SimpleNamespace

import pytest
import torch

from cli_runs import model_dir, output_of, read_json, run_main, sacred_dir
from modules.agents.rnn_agent import RNNAgent
from sparse_setup import make_args, make_learner, random_batch
from utils.pymarl_files import AGENT_FILE, MIXER_FILE, OPTIMIZER_FILE

PYMARL_FILES = (AGENT_FILE, MIXER_FILE, OPTIMIZER_FILE)
# PyMARL2's nmix.Mixer, in its parameter order, and the names of the same tensors here.
NMIX_NAMES = {
    "hyper_w1.0.weight": "hyper_w_1.0.weight", "hyper_w1.0.bias": "hyper_w_1.0.bias",
    "hyper_w1.2.weight": "hyper_w_1.2.weight", "hyper_w1.2.bias": "hyper_w_1.2.bias",
    "hyper_b1.0.weight": "hyper_b_1.weight", "hyper_b1.0.bias": "hyper_b_1.bias",
    "hyper_w2.0.weight": "hyper_w_final.0.weight", "hyper_w2.0.bias": "hyper_w_final.0.bias",
    "hyper_w2.2.weight": "hyper_w_final.2.weight", "hyper_w2.2.bias": "hyper_w_final.2.bias",
    "hyper_b2.0.weight": "V.0.weight", "hyper_b2.0.bias": "V.0.bias", "hyper_b2.2.weight": "V.2.weight",
    "hyper_b2.2.bias": "V.2.bias",
}
N_AGENT_PARAMETERS = 8  # fc1 (2), the GRU cell (4), fc2 (2)
# The original PyMARL's QMixer (PyMARL2's max_q_learner's mixer, and ours), in its parameter order.
QMIXER_NAMES = [
    "hyper_w_1.0.weight", "hyper_w_1.0.bias", "hyper_w_1.2.weight", "hyper_w_1.2.bias",
    "hyper_w_final.0.weight", "hyper_w_final.0.bias", "hyper_w_final.2.weight", "hyper_w_final.2.bias",
    "hyper_b_1.weight", "hyper_b_1.bias", "V.0.weight", "V.0.bias", "V.2.weight", "V.2.bias",
]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    results = str(tmp_path_factory.mktemp("saved"))
    result = run_main(results, "t_max=400", "name=saved", "save_model=True", "save_model_interval=200")
    assert result.returncode == 0, output_of(result)[-3000:]
    root = model_dir(results)
    step = max(int(name) for name in os.listdir(root))
    return os.path.join(root, str(step)), step


@pytest.fixture(scope="module")
def pymarl_dir(saved_run, tmp_path_factory):
    """A model directory as PyMARL2 writes it: ``<dir>/<step>/`` with its three files only."""
    step_dir, step = saved_run
    root = str(tmp_path_factory.mktemp("pymarl") / "qmix__2026")
    os.makedirs(os.path.join(root, str(step)))
    for name in PYMARL_FILES:
        shutil.copy(os.path.join(step_dir, name), os.path.join(root, str(step), name))
    return root


@pytest.mark.slow
def test_each_step_holds_pymarl_files_in_pymarl_layout(saved_run):
    step_dir, _ = saved_run
    learner_state = torch.load(os.path.join(step_dir, "learner.pt"), weights_only=False)
    config = read_json(os.path.join(step_dir, "meta.json"))["config"]

    agent_state = torch.load(os.path.join(step_dir, AGENT_FILE), weights_only=True)
    input_shape = config["obs_shape"] + config["n_agents"] + config["n_actions"]
    agent = RNNAgent(input_shape, SimpleNamespace(**config))
    agent.load_state_dict(agent_state)  # strict: PyMARL2's n_rnn names
    saved_agent = RNNAgent(input_shape, SimpleNamespace(**config))
    saved_agent.load_state_dict(learner_state["networks"]["agent"])
    inputs, hidden = torch.randn(6, input_shape), torch.zeros(6, config["rnn_hidden_dim"])
    assert torch.equal(agent(inputs, hidden)[0], saved_agent(inputs, hidden)[0])

    mixer_state = torch.load(os.path.join(step_dir, MIXER_FILE), weights_only=True)
    assert set(mixer_state) == set(NMIX_NAMES)
    for theirs, ours in NMIX_NAMES.items():
        assert torch.equal(mixer_state[theirs], learner_state["networks"]["mixer"][ours])

    optimizer_state = torch.load(os.path.join(step_dir, OPTIMIZER_FILE), weights_only=True)
    our_state = learner_state["optimiser"]["state"]
    assert optimizer_state["param_groups"][0]["params"] == list(range(N_AGENT_PARAMETERS + len(NMIX_NAMES)))
    for their_index, name in enumerate(NMIX_NAMES, start=N_AGENT_PARAMETERS):
        our_index = N_AGENT_PARAMETERS + list(learner_state["networks"]["mixer"]).index(NMIX_NAMES[name])
        assert torch.equal(optimizer_state["state"][their_index]["exp_avg"], our_state[our_index]["exp_avg"])
        assert optimizer_state["state"][their_index]["exp_avg"].shape == mixer_state[name].shape


def test_pymarl_files_load_back_into_a_learner_with_its_optimizer_state(tmp_path):
    args = make_args("qmix", batch_size=4)
    trained, fresh = make_learner(args), make_learner(args)
    trained.train(random_batch(args), t_env=0, episode_num=0)
    for name, value in trained.pymarl_files().items():
        torch.save(value, os.path.join(tmp_path, name))
    fresh.load_pymarl_files(str(tmp_path), with_optimizer=True)
    for name in ("agent", "mixer", "target_agent", "target_mixer"):
        online = trained.networks()[name.replace("target_", "")].state_dict()
        for key, value in fresh.networks()[name].state_dict().items():
            assert torch.equal(value, online[key]), (name, key)
    expected, loaded = trained.optimiser.state_dict()["state"], fresh.optimiser.state_dict()["state"]
    assert expected.keys() == loaded.keys()
    for index in expected:
        assert torch.equal(expected[index]["exp_avg"], loaded[index]["exp_avg"]), index


def evaluation_line(result):
    assert result.returncode == 0, output_of(result)[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if "Evaluated" in line]
    return line.split(" test episodes: ")[1]


@pytest.mark.slow
def test_a_directory_of_pymarl_files_is_evaluated_like_the_checkpoint(saved_run, pymarl_dir, tmp_path):
    step_dir, _ = saved_run
    ours = run_main(str(tmp_path / "ours"), "evaluate=True", "test_nepisode=8", "name=eval",
                    f"checkpoint_path={os.path.dirname(step_dir)}")
    theirs = run_main(str(tmp_path / "theirs"), "evaluate=True", "test_nepisode=8", "name=eval",
                      f"checkpoint_path={pymarl_dir}")
    assert evaluation_line(theirs) == evaluation_line(ours)  # the same networks, the same greedy episodes


@pytest.mark.slow
def test_training_starts_from_pymarl_files_at_their_step(pymarl_dir, tmp_path):
    step = int(os.listdir(pymarl_dir)[0])
    result = run_main(str(tmp_path), f"t_max={step + 300}", "name=warm", f"checkpoint_path={pymarl_dir}")
    assert result.returncode == 0, output_of(result)[-3000:]
    assert (f"holds PyMARL2's files only: training starts from its agent, mixer and optimizer at t_env {step}"
            in output_of(result))
    info = read_json(os.path.join(sacred_dir(str(tmp_path), "warm", 1), "info.json"))
    assert min(info["loss_td_T"]) > step


@pytest.mark.slow
@pytest.mark.parametrize("overrides, message", [
    (["evaluate=True", "env_args.map_name=2s3z"], "(PyMARL2's files) does not fit this run: agent.th network: size mismatch"),
    (["evaluate=True", "sparse.enabled=True"], "holds PyMARL2's files, which carry no sparse masks"),
    (["t_max=100000", "sparse.enabled=True"], "holds PyMARL2's files, which carry no sparse masks"),
])
def test_pymarl_files_that_do_not_fit_are_one_line(pymarl_dir, tmp_path, overrides, message):
    result = run_main(str(tmp_path), "name=misfit", f"checkpoint_path={pymarl_dir}", *overrides)
    assert result.returncode == 2, output_of(result)[-3000:]
    errors = [line for line in output_of(result).splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], output_of(result)[-3000:]
    assert "Traceback" not in output_of(result)


def test_files_in_the_original_pymarl_names_load_with_their_optimizer_order(tmp_path):
    args = make_args("qmix", batch_size=4)
    trained, fresh = make_learner(args), make_learner(args)
    trained.train(random_batch(args), t_env=0, episode_num=0)
    torch.save(trained.mac.agent.state_dict(), os.path.join(tmp_path, AGENT_FILE))
    torch.save(trained.mixer.state_dict(), os.path.join(tmp_path, MIXER_FILE))  # hyper_w_1, V, ...: PyMARL's
    torch.save(trained.optimiser.state_dict(), os.path.join(tmp_path, OPTIMIZER_FILE))
    fresh.load_pymarl_files(str(tmp_path), with_optimizer=True)
    expected, loaded = trained.optimiser.state_dict()["state"], fresh.optimiser.state_dict()["state"]
    for index in expected:
        assert torch.equal(expected[index]["exp_avg"], loaded[index]["exp_avg"]), index
    fresh.train(random_batch(args), t_env=0, episode_num=0)  # the moments fit their parameters


def test_an_optimizer_of_another_kind_is_named_and_the_runs_settings_stay(tmp_path):
    args = make_args("qmix", batch_size=4)
    trained = make_learner(args)
    for name, value in trained.pymarl_files().items():
        torch.save(value, os.path.join(tmp_path, name))
    torch.save(torch.optim.RMSprop(trained.params, lr=0.1).state_dict(), os.path.join(tmp_path, OPTIMIZER_FILE))
    with pytest.raises(ValueError, match="opt.th does not fit this learner's optimizer .it holds no adam state"):
        make_learner(args).load_pymarl_files(str(tmp_path), with_optimizer=True)
    other_lr = trained.optimiser.state_dict()
    other_lr["param_groups"][0]["lr"] = 0.5
    torch.save(other_lr, os.path.join(tmp_path, OPTIMIZER_FILE))
    fresh = make_learner(args)
    fresh.load_pymarl_files(str(tmp_path), with_optimizer=True)
    assert fresh.optimiser.param_groups[0]["lr"] == args.lr


@pytest.mark.parametrize("alg", ["ow_qmix", "cw_qmix"])
def test_wqmix_files_hold_the_original_qmixer_as_max_q_learner_saves_it(alg, tmp_path):
    args = make_args(alg, batch_size=4)
    trained = make_learner(args)
    trained.train(random_batch(args), t_env=0, episode_num=0)
    files = trained.pymarl_files()
    assert list(files[MIXER_FILE]) == QMIXER_NAMES
    # max_q_learner's optimizer order: the agent network, the mixer, Q*'s agent network, Q*'s mixer
    networks = [trained.mac.agent, trained.mixer, trained.central_mac.agent, trained.central_mixer]
    shapes = [parameter.shape for network in networks for parameter in network.parameters()]
    saved = files[OPTIMIZER_FILE]["state"]
    assert [saved[index]["exp_avg"].shape for index in range(len(saved))] == shapes
    first_mixer_weight = trained.mixer.hyper_w_1[0].weight
    assert torch.equal(saved[N_AGENT_PARAMETERS]["exp_avg"], trained.optimiser.state[first_mixer_weight]["exp_avg"])
    ours = trained.optimiser.state_dict()["state"]
    for name, value in files.items():
        torch.save(value, os.path.join(tmp_path, name))
    fresh = make_learner(args)
    fresh.load_pymarl_files(str(tmp_path), with_optimizer=True)
    for name, value in trained.mixer.state_dict().items():
        assert torch.equal(fresh.mixer.state_dict()[name], value), name
    loaded = fresh.optimiser.state_dict()["state"]
    assert all(torch.equal(loaded[index]["exp_avg"], ours[index]["exp_avg"]) for index in ours)


def test_a_sparse_runs_agent_file_holds_its_zeros(tmp_path):
    args = make_args("rigl_qmix", batch_size=4)
    trained = make_learner(args)
    trained.train(random_batch(args), t_env=0, episode_num=0)
    agent_state = trained.pymarl_files()[AGENT_FILE]
    masks = trained.sparse.state_dict()["masks"]
    masked = [name for name in agent_state if f"agent.{name}" in masks]
    assert masked, sorted(masks)
    for name in masked:
        mask = masks[f"agent.{name}"]
        assert torch.count_nonzero(agent_state[name][mask == 0]) == 0
        assert 0.8 < 1 - torch.count_nonzero(agent_state[name]).item() / agent_state[name].numel() < 1
