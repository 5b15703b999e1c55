"""A real MongoDB-wire server (secantusdb, installed with the test requirements) on a free
loopback port, that tests can stop and start again on the same port."""

import os
import socket
import subprocess
import sys
import time

import pymongo

SERVER = os.path.join(os.path.dirname(sys.executable), "secantusd-py")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MongoServer:
    """``start()`` returns once the server answers a ping; ``kill()`` stops it at once."""

    def __init__(self, storage_dir):
        self.storage_dir = str(storage_dir)
        self.port = free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}"
        self.process = None

    def start(self, storage_name="data"):
        """Start on this server's port, storing under ``storage_name`` (a new name: an empty server)."""
        self.process = subprocess.Popen(
            [SERVER, "--host", "127.0.0.1", "--port", str(self.port), "--storage-path",
             os.path.join(self.storage_dir, storage_name), "--standalone"],
            cwd=self.storage_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = pymongo.MongoClient(self.url, serverSelectionTimeoutMS=500)
        deadline = time.time() + 60
        while True:
            try:
                client.admin.command("ping")
                return self
            except pymongo.errors.PyMongoError:
                assert self.process.poll() is None and time.time() < deadline, "secantusd-py did not start"
                time.sleep(0.2)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def database(self, name):
        return pymongo.MongoClient(self.url, serverSelectionTimeoutMS=5000)[name]
