"""How writes are accepted and applied: the API's desk validates and enqueues an operation
envelope; the worker's batch loop applies each one exactly once through the registered
operation types (`sites`, `configs`)."""

# Importing an operation type's module registers it.
from chalicelib.writes import configs, sites
from chalicelib.writes.apply import Applier
from chalicelib.writes.desk import Accepted, Submission, WriteDesk
from chalicelib.writes.envelopes import OperationEnvelope, OperationMeta
from chalicelib.writes.queue import WriteQueue
from chalicelib.writes.registry import OperationFailed, kind_of, operation_types, parse_envelope
from chalicelib.writes.worker import BatchIncomplete, QueueRecord, Worker, settle

__all__ = [
    "Accepted",
    "Applier",
    "BatchIncomplete",
    "OperationEnvelope",
    "OperationFailed",
    "OperationMeta",
    "QueueRecord",
    "Submission",
    "Worker",
    "WriteDesk",
    "WriteQueue",
    "configs",
    "kind_of",
    "operation_types",
    "parse_envelope",
    "settle",
    "sites",
]
