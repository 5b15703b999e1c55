"""Experiment tracking of a real run: Sacred's MongoObserver against a real MongoDB-wire
server (secantusdb), TensorBoard event files, and readable captured output."""

import os
import time

import pymongo
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cli_runs import output_of, read_json, run_main, sacred_dir
from mongo_server import MongoServer, free_port

pytestmark = pytest.mark.slow  # src/main.py subprocess runs (one against a MongoDB server)

DB_NAME = "mast_tracking_test"


@pytest.fixture(scope="module")
def mongo_url(tmp_path_factory):
    """A secantusdb server on a free loopback port, for this module's tests."""
    server = MongoServer(tmp_path_factory.mktemp("mongo")).start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.fixture(scope="module")
def tracked_run(mongo_url, tmp_path_factory):
    """A short run recorded to MongoDB, files and TensorBoard."""
    results = str(tmp_path_factory.mktemp("tracked"))
    result = run_main(results, "t_max=500", "name=tracked", "use_tensorboard=True", f"mongo_url={mongo_url}",
                      f"mongo_db={DB_NAME}")
    assert result.returncode == 0, output_of(result)[-3000:]
    return results, read_json(os.path.join(sacred_dir(results, "tracked", 1), "info.json"))


def metric_series(info):
    return {key: (info[key + "_T"], info[key]) for key in info if key + "_T" in info}


def test_mongo_holds_config_status_metrics_and_output(mongo_url, tracked_run):
    _, info = tracked_run
    database = pymongo.MongoClient(mongo_url)[DB_NAME]
    (run,) = list(database.runs.find())
    assert run["status"] == "COMPLETED"
    assert run["config"]["t_max"] == 500 and run["config"]["env_args"]["map_name"] == "3m"
    assert run["config"]["mongo_db"] == DB_NAME
    assert run["info"]["unique_token"] == info["unique_token"]
    assert "Beginning training for 500 timesteps" in run["captured_out"]
    assert "Finished training" in run["captured_out"]

    stored = {doc["name"]: (doc["steps"], doc["values"]) for doc in database.metrics.find({"run_id": run["_id"]})}
    expected = metric_series(info)
    assert {"return_mean", "loss_td", "test_battle_won_mean", "epsilon"} <= set(expected)
    assert stored.keys() == expected.keys()
    for name, (steps, values) in expected.items():
        assert stored[name][0] == steps, name
        assert stored[name][1] == pytest.approx(values), name


def test_tensorboard_holds_every_logged_metric_with_its_step(tracked_run):
    results, info = tracked_run
    directory = os.path.join(results, "tb_logs", info["unique_token"])
    events = EventAccumulator(directory)
    events.Reload()
    expected = metric_series(info)
    assert set(events.Tags()["scalars"]) == set(expected)
    for name, (steps, values) in expected.items():
        scalars = events.Scalars(name)
        assert [event.step for event in scalars] == steps, name
        assert [event.value for event in scalars] == pytest.approx(values, rel=1e-6), name


def test_captured_output_is_plain_lines_with_progress(tracked_run):
    results, _ = tracked_run
    with open(os.path.join(sacred_dir(results, "tracked", 1), "cout.txt")) as stream:
        captured = stream.read()
    assert "\x1b" not in captured and "\r" not in captured
    progress = [line for line in captured.splitlines() if "/500 (" in line]
    assert progress and all("steps/s | ETA" in line and "test win rate" in line for line in progress)


def test_unreachable_mongo_stops_before_the_run(tmp_path):
    started = time.time()
    result = run_main(str(tmp_path), "t_max=500", "name=nomongo", f"mongo_url=mongodb://127.0.0.1:{free_port()}")
    assert result.returncode == 2, output_of(result)[-3000:]
    errors = [line for line in output_of(result).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach MongoDB at mongo_url='mongodb://127.0.0.1:" in errors[0]
    assert "Traceback" not in output_of(result)
    assert not os.path.exists(os.path.join(str(tmp_path), "sacred"))  # no run started, nothing half-recorded
    assert time.time() - started < 120
