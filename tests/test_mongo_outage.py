"""MongoDB going away during a run (issue 14, item 2) against a real MongoDB-wire server: the
record catches up when the server answers again (even one that lost everything), or the run
says plainly that it is incomplete, without stalling and with exit code 3; never a false record."""

import datetime
import os
import time

import pymongo
import pytest

from cli_runs import REPO, sacred_dir, start_main
from mongo_server import MongoServer
from utils.mongo_record import CATCH_UP_DEADLINE_S, WRITE_TIMEOUT_S, ResilientMongoObserver

pytestmark = pytest.mark.slow  # MongoDB server outages (write timeouts, a src/main.py subprocess)

DB_NAME = "mast_outage_test"


@pytest.fixture
def server(tmp_path):
    server = MongoServer(tmp_path).start()
    yield server
    server.kill()


def started_observer(server):
    client = pymongo.MongoClient(server.url, serverSelectionTimeoutMS=5000)
    observer = ResilientMongoObserver(client=client, db_name=DB_NAME, url=server.url, files_dir="results/sacred/x")
    observer.started_event(ex_info={"base_dir": REPO, "sources": []}, command="main", host_info={},
                           start_time=datetime.datetime.utcnow(), config={"seed": 1}, meta_info={}, _id=None)
    return observer


def beat(observer, info, step):
    """One Sacred heartbeat with one new point of the metric ``loss``."""
    now = datetime.datetime.utcnow()
    observer.log_metrics({"loss": {"steps": [step], "values": [0.1 * step], "timestamps": [now]}}, info)
    observer.heartbeat_event(info=info, captured_out=f"line {step}\n", beat_time=now, result=None)


def timed(call, *args, **kwargs):
    started = time.monotonic()
    value = call(*args, **kwargs)
    return value, time.monotonic() - started


def test_the_record_catches_up_after_an_outage_even_on_a_server_that_lost_it(server, capsys):
    observer, info = started_observer(server), {}
    beat(observer, info, 1)
    server.kill()
    _, seconds = timed(beat, observer, info, 2)
    assert seconds < 2 * WRITE_TIMEOUT_S + 1  # two bounded writes, training is not held up
    server.start("empty")  # the server comes back without the run's record or metrics
    beat(observer, info, 3)
    assert observer.catch_up(info)
    observer.completed_event(stop_time=datetime.datetime.utcnow(), result=None)

    database = server.database(DB_NAME)
    record = database.runs.find_one()
    metric = database.metrics.find_one({"name": "loss"})
    assert record["status"] == "COMPLETED" and record["captured_out"] == "line 3\n"
    assert metric["steps"] == [1, 2, 3] and metric["values"] == pytest.approx([0.1, 0.2, 0.3])
    assert record["info"]["metrics"] == [{"name": "loss", "id": str(metric["_id"])}]
    assert observer.record_complete and "mongo_record" not in info
    errors = capsys.readouterr().err
    assert "is not answering" in errors and "answers again: the run's record caught up" in errors


def test_a_server_away_at_the_end_is_reported_once_without_a_long_stall(server, capsys):
    observer, info = started_observer(server), {}
    beat(observer, info, 1)
    server.kill()
    caught_up, seconds = timed(observer.catch_up, info)
    assert not caught_up and seconds < CATCH_UP_DEADLINE_S + WRITE_TIMEOUT_S + 1
    _, seconds = timed(observer.completed_event, stop_time=datetime.datetime.utcnow(), result=None)
    assert seconds < 1  # given up: Sacred's final save does not wait again
    assert not observer.record_complete and info["mongo_record"] == "incomplete"
    errors = capsys.readouterr().err
    assert "its record of run 1 is incomplete (it holds metrics up to t_env=1," in errors
    server.start()  # the server's own copy was never marked COMPLETED
    record = server.database(DB_NAME).runs.find_one({"_id": 1})
    assert record["status"] == "RUNNING"


def test_a_run_whose_server_dies_finishes_says_so_and_exits_3(server, tmp_path):
    results = str(tmp_path / "results")
    log_path = str(tmp_path / "output.txt")
    with open(log_path, "w") as log:
        process = start_main(results, "t_max=3000", "name=outage", f"mongo_url={server.url}", f"mongo_db={DB_NAME}",
                             log=log)
        deadline = time.time() + 300
        while "Recent stats" not in open(log_path).read():  # training has begun
            assert process.poll() is None and time.time() < deadline, open(log_path).read()[-3000:]
            time.sleep(0.5)
        server.kill()
        code = process.wait(timeout=300)
    output = open(log_path).read()
    assert code == 3, output[-3000:]
    assert "Traceback" not in output
    warning = "did not answer at the end of the run; its record of run 1 is incomplete"
    assert warning in output
    with open(os.path.join(sacred_dir(results, "outage", 1), "cout.txt")) as cout:
        assert warning in cout.read()
    server.start()
    assert server.database(DB_NAME).runs.find_one({"_id": 1})["status"] == "RUNNING"
