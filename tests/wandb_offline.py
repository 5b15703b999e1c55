"""Read back an offline W&B run (``wandb/offline-run-*/run-*.wandb``) for the tests.

The file is W&B's record log: a 7-byte header, then 32 KiB blocks of records, each a 7-byte
header (checksum, length, type: 1 whole, 2 first, 3 middle, 4 last part) and its bytes; a
record is one ``Record`` protobuf of wandb's own schema, which wandb ships."""

import json
import struct

from wandb.proto import wandb_internal_pb2

BLOCK_SIZE = 32 * 1024
HEADER_SIZE = 7


def records(path):
    with open(path, "rb") as stream:
        data = stream.read()
    position, parts = HEADER_SIZE, b""
    while position + HEADER_SIZE <= len(data):
        left_in_block = BLOCK_SIZE - position % BLOCK_SIZE
        if left_in_block < HEADER_SIZE:  # the block's tail is padding
            position += left_in_block
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + HEADER_SIZE])
        chunk = data[position + HEADER_SIZE:position + HEADER_SIZE + length]
        position += HEADER_SIZE + length
        parts = chunk if kind in (1, 2) else parts + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            yield record


def history(path):
    """Every ``run.log`` call of the run, as a dict."""
    return [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            for record in records(path) if record.WhichOneof("record_type") == "history"]


def config(path):
    """The run's config as W&B stored it (the last value of each key)."""
    values = {}
    for record in records(path):
        updates = record.run.config.update if record.WhichOneof("record_type") == "run" else (
            record.config.update if record.WhichOneof("record_type") == "config" else [])
        values.update({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in updates})
    return values
