"""Keep the records of finished runs in the repository, so that tables outlive the machine.

``results/`` is not committed and a session may start on a fresh machine, so the run folders
behind docs/results.md's tables would be lost with it. This copies what ``results_table.py``
and ``plot_curves.py`` read from each Sacred run folder (``info.json``, ``run.json``,
``config.json``; no checkpoints, no console log) from ``results/sacred/<map>/<name>/<id>`` to
``<to>/<map>/<name>/<run>``, where ``<run>`` is the run's unique token and its start time, so
that the segments of a resumed run and runs made on different machines never collide. The
tables then read the archive with the same globs:

    python benchmarks/archive_runs.py "results/sacred/2s3z/*/*"
    python benchmarks/results_table.py --group "dense QMIX=docs/runs/2s3z/qmix_2s3z_2M/*"

Only folders whose run has ended (Sacred status other than RUNNING; a run killed without a
chance to record its end stays RUNNING) are copied; a folder already archived is left alone,
so the command can be rerun on the same glob.
"""

import argparse
import glob
import json
import os
import sys

RECORD_FILES = ("info.json", "run.json", "config.json")


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def archive_name(info, run):
    """``<unique token>_<start time>``: unique across segments and machines."""
    start = run["start_time"].split(".")[0].replace(":", "-")
    return f"{info['unique_token']}_{start}"


def archive_folder(folder, to):
    """Copy one Sacred run folder under ``to``; the destination, or None with the reason."""
    if not all(os.path.isfile(os.path.join(folder, name)) for name in RECORD_FILES):
        return None, "not a Sacred run folder (info.json, run.json, config.json)"
    records = {name: read_json(os.path.join(folder, name)) for name in RECORD_FILES}
    run = records["run.json"]
    if run.get("status") == "RUNNING":
        return None, "still running"
    scenario_and_name = os.path.normpath(folder).split(os.sep)[-3:-1]  # results/sacred/<map>/<name>/<id>
    destination = os.path.join(to, *scenario_and_name, archive_name(records["info.json"], run))
    if os.path.isdir(destination):
        return None, f"already archived at {destination}"
    os.makedirs(destination)
    for name, record in records.items():
        with open(os.path.join(destination, name), "w") as handle:
            json.dump(record, handle, separators=(",", ":"))
    return destination, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("patterns", nargs="+", help="globs of Sacred run folders, e.g. 'results/sacred/3m/*/*'")
    parser.add_argument("--to", default="docs/runs", help="archive root (default docs/runs)")
    args = parser.parse_args(argv)
    folders = sorted({folder for pattern in args.patterns for folder in glob.glob(pattern)
                      if os.path.isdir(folder) and not os.path.basename(folder).startswith("_")})
    if not folders:
        sys.exit(f"error: no folder matches {' '.join(args.patterns)}")
    for folder in folders:
        destination, reason = archive_folder(folder, args.to)
        print(f"{folder} -> {destination}" if destination else f"{folder}: skipped, {reason}")


if __name__ == "__main__":
    main()
