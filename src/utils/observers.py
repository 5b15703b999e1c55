"""Sacred observers chosen by the config: files always, a MongoDB when ``mongo_url`` is set.

The FileStorageObserver writes PyMARL2's layout, ``results/sacred/<map_name>/<name>/<run_id>/``.
A ``mongo_url`` that does not answer stops the program before the run starts (one line
naming the URL): a run asked to land in a database never silently lands elsewhere only.
Should the database fail later in the run, the file observer still holds the full record and
the database's record catches up or is reported incomplete (utils/mongo_record.py).
"""

import os

import pymongo
from sacred.observers import FileStorageObserver

from utils.config import scenario_name
from utils.mongo_record import ResilientMongoObserver

MONGO_TIMEOUT_MS = 5000  # how long to wait for the server's first answer


class ObserverError(RuntimeError):
    """An observer the config asks for cannot record."""


def sacred_results_dir(config):
    """PyMARL2's ``results/sacred/<map_name>/<name>`` (a gymma env's name in place of the map)."""
    return os.path.join(config["local_results_path"], "sacred", scenario_name(config["env"], config["env_args"]),
                        config["name"])


def mongo_observer(url, db_name, files_dir):
    """A ResilientMongoObserver writing to database ``db_name`` at ``url``, once the server answers a ping."""

    try:
        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=MONGO_TIMEOUT_MS)
        client.admin.command("ping")
    except (pymongo.errors.PyMongoError, ValueError) as error:  # ValueError: a malformed URL (a bad port)
        reason = str(error).split(" (configured timeouts")[0].split(", Timeout:")[0]
        raise ObserverError(
            f"cannot reach MongoDB at mongo_url={url!r} ({reason}); start the server or fix mongo_url "
            f"(mongo_url=\"\" records the run to files only)"
        ) from None
    return ResilientMongoObserver(client=client, db_name=db_name, url=url, files_dir=files_dir)


def writable_results_path(path):
    """Create ``local_results_path`` if needed; an ObserverError when it cannot hold the run's files."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise ObserverError(f"local_results_path={path!r} cannot be created ({error.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ObserverError(f"local_results_path={path!r} is not writable")


def build_observers(config):
    """The observers of a run: the file observer, plus a MongoObserver when ``mongo_url`` is set."""
    writable_results_path(config["local_results_path"])
    files_dir = sacred_results_dir(config)
    observers = [FileStorageObserver(files_dir)]
    if config["mongo_url"]:
        observers.append(mongo_observer(config["mongo_url"], config["mongo_db"], files_dir))
    return observers
