"""A MongoDB record that stays true when the server goes away during a run.

Sacred's MongoObserver drops the metrics of a heartbeat whose write fails, stops calling an
observer after its first error, and at the end retries for up to a minute before writing a
pickle. :class:`ResilientMongoObserver` keeps the run going and the record honest instead:

- every write waits at most ``WRITE_TIMEOUT_S``, so a dead server never stalls training
  (the writes run in Sacred's heartbeat thread) or the end of a run for long;
- every metric point is kept in memory; after a failed write the next write sends the whole
  record again (run entry and every metric series, replaced, not appended), so the record
  catches up when the server answers again, even if the server lost what it held;
- :meth:`catch_up` is called by the run's main function before Sacred's last heartbeat: if
  the server still does not answer, a warning naming what did not reach the database goes
  to the console and ``cout.txt``, the file record's ``info.mongo_record`` says
  ``incomplete``, and :attr:`record_complete` turns False (main.py then exits with code 3).
"""

import sys
import threading
import time

import pymongo
from sacred.observers import MongoObserver

WRITE_TIMEOUT_S = 2.0  # one write's deadline while the run goes on
CATCH_UP_DEADLINE_S = 5.0  # how long the end of a run waits for a server that does not answer


class ResilientMongoObserver(MongoObserver):
    """A MongoObserver whose record catches up after an outage or says that it is incomplete."""

    def __init__(self, client, db_name, url, files_dir):
        super().__init__(client=client, db_name=db_name)
        self.url = url
        self.files_dir = files_dir  # where the file observer keeps the full record, for the warnings
        self.metric_history = {}  # name -> {"steps": [...], "values": [...], "timestamps": [...]}
        self.in_sync = True  # everything so far reached the server
        self.stored_through = None  # the last env step of the metrics known to be in the database
        self.gave_up = False  # the end of the run found the server away: no more writes
        self.record_complete = True
        self.lock = threading.Lock()  # the heartbeat thread and the main thread both write

    # ----------------------------------------------------------------- Sacred's events
    def log_metrics(self, metrics_by_name, info):
        with self.lock:
            for name, series in metrics_by_name.items():
                history = self.metric_history.setdefault(name, {"steps": [], "values": [], "timestamps": []})
                for field in history:
                    history[field].extend(series[field])
            if self.gave_up:
                return
            if self.in_sync:
                if self._attempt(lambda: super(ResilientMongoObserver, self).log_metrics(metrics_by_name, info)):
                    self._note_stored()
            else:
                self._write_everything(info, deadline_s=WRITE_TIMEOUT_S)

    def heartbeat_event(self, info, captured_out, beat_time, result):
        with self.lock:
            super().heartbeat_event(info, captured_out, beat_time, result)

    def save(self):
        """Write the whole run entry (created again if the server lost it)."""
        if not self.gave_up:
            self._attempt(self._write_entry)

    def final_save(self, attempts):
        """Sacred's last write (COMPLETED, INTERRUPTED or FAILED), bounded by a deadline, not ``attempts``."""
        with self.lock:
            if self.gave_up or self._write_everything(self.run_entry["info"], deadline_s=CATCH_UP_DEADLINE_S):
                return
            self.gave_up = True
            self.record_complete = False
        print(
            f"warning: MongoDB at {self.url} did not take the run's final record (status "
            f"{self.run_entry['status']}); the files under {self.files_dir} are complete",
            file=sys.stderr,
        )

    # ------------------------------------------------------------------- the run's own call
    def catch_up(self, info):
        """Bring the database up to date before the run ends (written in full, so that an outage since
        the last heartbeat is found here, not after the last output); False and a warning if it cannot."""
        with self.lock:
            if self._write_everything(info, deadline_s=CATCH_UP_DEADLINE_S):
                return True
            self.gave_up = True
            self.record_complete = False
            info["mongo_record"] = "incomplete"
        held = "no metrics" if self.stored_through is None else f"metrics up to t_env={self.stored_through}"
        print(
            f"warning: MongoDB at {self.url} did not answer at the end of the run; its record of run "
            f"{self.run_entry['_id']} is incomplete (it holds {held}, not the last output nor the final "
            f"status); the files under {self.files_dir} hold the full record",
            file=sys.stderr,
        )
        return False

    # ------------------------------------------------------------------------ writes
    def _attempt(self, write, timeout=WRITE_TIMEOUT_S):
        """Run ``write`` within ``timeout`` s; on failure say so once and leave the record to catch up."""
        try:
            with pymongo.timeout(timeout):
                write()
        except pymongo.errors.PyMongoError as error:
            if self.in_sync:
                reason = str(error).split(" (configured timeouts")[0]
                print(
                    f"warning: MongoDB at {self.url} is not answering ({reason}); the run goes on, the files "
                    f"under {self.files_dir} stay complete and the database record catches up when the "
                    f"server answers again",
                    file=sys.stderr,
                )
            self.in_sync = False
            return False
        return True

    def _note_stored(self):
        """Every metric point kept here is in the database."""
        self.stored_through = max((h["steps"][-1] for h in self.metric_history.values() if h["steps"]),
                                  default=self.stored_through)

    def _write_entry(self):
        self.runs.update_one({"_id": self.run_entry["_id"]}, {"$set": self.run_entry}, upsert=True)

    def _write_all_metrics(self, info):
        """Replace every metric series by the full history kept here; index them in ``info``."""
        index = []
        for name, history in self.metric_history.items():
            query = {"run_id": self.run_entry["_id"], "name": name}
            self.metrics.replace_one(query, {**query, **history}, upsert=True)
            index.append({"name": name, "id": str(self.metrics.find_one(query, {"_id": 1})["_id"])})
        info["metrics"] = index
        self.run_entry["info"]["metrics"] = index

    def _write_whole_record(self, info):
        self._write_all_metrics(info)
        self._write_entry()

    def _write_everything(self, info, deadline_s):
        """Every metric series and the run entry, retried until ``deadline_s`` runs out; True once whole."""
        was_in_sync = self.in_sync
        end = time.monotonic() + deadline_s
        while (remaining := end - time.monotonic()) > 0:
            if self._attempt(lambda: self._write_whole_record(info), timeout=min(remaining, WRITE_TIMEOUT_S)):
                if not was_in_sync:
                    print(f"MongoDB at {self.url} answers again: the run's record caught up", file=sys.stderr)
                self.in_sync = True
                self._note_stored()
                return True
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))
        return False
