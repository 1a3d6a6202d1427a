"""The operation types the worker applies, each one registered entry that declares what
it reads and what it writes. Adding an operation type adds an entry, not a branch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Callable, ClassVar, Dict, Generic, List, Optional, Protocol, Type, TypeVar, Union

from pydantic.config import ConfigDict
from pydantic.fields import Field
from pydantic.type_adapter import TypeAdapter

from chalicelib.core import DomainError, errors, isoformat
from chalicelib.store import (
    AuditActor,
    AuditEntry,
    AuditStore,
    ChangeEvent,
    LastApplied,
    Reads,
    Snapshot,
    Transaction,
)
from chalicelib.store import event_id as outbox_event_id
from chalicelib.writes.envelopes import OperationEnvelope

E = TypeVar("E", bound=OperationEnvelope)


class Versioned(Protocol):
    """A stored thing with a version number: a site, a config, a schema, a release."""

    @property
    def version(self) -> int: ...


class Created(Versioned, Protocol):
    """A versioned thing that keeps when its first version was written."""

    @property
    def createdAt(self) -> str: ...


V = TypeVar("V", bound=Versioned)


class OperationFailed(DomainError):
    """A permanent failure: the operation ends `failed` with this code, and its message is
    done. With `keep`, what the operation added to its transaction is written with its
    failure (a release records that it failed, and why)."""

    def __init__(
        self,
        code: errors.FailureCode,
        message: str,
        details: Optional[List[Dict[str, Any]]] = None,
        keep: bool = False,
    ) -> None:
        super().__init__(message, details)
        self.code = code
        self.keep = keep


class RetryLater(Exception):
    """The operation cannot be applied now (the table refused for now, or what it read
    kept changing): its message stays on the queue and is tried again. The worker's
    signal alone: at the HTTP edge "not now" is `DependencyUnavailable`'s 503."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def applied_by(envelope: OperationEnvelope) -> LastApplied:
    """The marker an operation leaves on the resource it changes."""
    return LastApplied(operation_id=envelope.meta.operationId, accepted_at=envelope.meta.submittedAt)


def refuse_if_superseded(envelope: OperationEnvelope, last: Optional[LastApplied], resource: str) -> None:
    """The last write accepted wins, whatever order the writes arrive in: an operation
    accepted before the one last applied to its resource (a redriven one, say) changes
    nothing and fails as `Superseded`. In the queue's order this never happens: a
    resource's operations arrive in the order the API accepted them."""
    if (
        last is not None
        and last.operation_id != envelope.meta.operationId
        and last.accepted_after(envelope.meta.submittedAt)
    ):
        raise OperationFailed(
            "Superseded",
            f"operation {last.operation_id}, accepted at {last.accepted_at}, after this one "
            f"(accepted at {envelope.meta.submittedAt}), was applied to {resource} first; "
            "the last write accepted wins, so this one changed nothing",
        )


@dataclass
class Change:
    """Where an operation writes its change: the transaction, who makes it when, and the
    audit entry that goes in with it (every applied operation writes exactly one)."""

    transaction: Transaction
    operation_id: str
    actor: str
    now: datetime
    operation: str = ""
    actor_name: Optional[str] = None
    request_id: Optional[str] = None
    audit_trail: Optional[AuditStore] = None
    audited: bool = False
    # The change events it emits: written to the outbox in its transaction, sent once committed.
    events: List[ChangeEvent] = field(default_factory=list)

    @property
    def stamp(self) -> str:
        return isoformat(self.now)

    def audit(
        self,
        resource: str,
        before: Dict[str, Any],
        after: Dict[str, Any],
        *,
        site: Optional[str] = None,
        page: Optional[str] = None,
        from_version: Optional[int] = None,
        to_version: Optional[int] = None,
    ) -> None:
        """Adds the audit entry of this change: what `resource` was and became, as a patch."""
        from chalicelib.core import make_patch

        if self.audit_trail is None:
            raise RuntimeError("this change has no audit trail to write to")
        token_id = self.actor.removeprefix("token:") if self.actor.startswith("token:") else None
        entry = AuditEntry(
            at=self.stamp,
            operationId=self.operation_id,
            type=self.operation,
            actor=AuditActor(tokenId=token_id, name=self.actor_name or (None if token_id else self.actor)),
            resource=resource,
            site=site,
            page=page,
            fromVersion=from_version,
            toVersion=to_version,
            patch=make_patch(before, after),
            requestId=self.request_id,
        )
        self.audit_trail.add(self.transaction, entry)
        self.audited = True

    def emit(self, event_type: str, site: str, **fields: Any) -> None:
        """Adds a change event: it is sent only once this change has committed."""
        event_id = outbox_event_id(self.operation_id, len(self.events))
        self.events.append(
            ChangeEvent(
                id=event_id,
                type=event_type,
                site=site,
                occurredAt=self.stamp,
                operationId=self.operation_id,
                **fields,
            )
        )

    def audit_versions(
        self,
        resource: str,
        before: Optional[V],
        after: Optional[V],
        content: Callable[[V], Dict[str, Any]],
        *,
        site: Optional[str] = None,
        page: Optional[str] = None,
        to_version: Optional[int] = None,
    ) -> None:
        """The audit entry of `resource` going from `before` to `after` (None: there was
        none, or there is none now), each shown as `content` shows it, with their versions;
        `to_version` is the version a deletion leaves (`after` is None)."""
        self.audit(
            resource,
            content(before) if before is not None else {},
            content(after) if after is not None else {},
            site=site,
            page=page,
            from_version=before.version if before is not None else None,
            to_version=after.version if after is not None else to_version,
        )

    def next_version(self, previous: Optional[Created]) -> Dict[str, Any]:
        """The version and times of what replaces `previous` (or is first, for None)."""
        if previous is None:
            return {"version": 1, "createdAt": self.stamp, "updatedAt": self.stamp}
        return {"version": previous.version + 1, "createdAt": previous.createdAt, "updatedAt": self.stamp}


class OperationKind(ABC, Generic[E]):
    """One operation type: its envelope, the resource it changes, its read and its write."""

    name: ClassVar[str]
    envelope: ClassVar[Type[OperationEnvelope]]

    @abstractmethod
    def resource(self, envelope: E) -> str:
        """The id of the resource the operation changes."""

    @abstractmethod
    def group(self, envelope: E) -> str:
        """The FIFO message group: a resource's operations are applied one at a time, in the
        order the API accepted them; different resources run in parallel."""

    @abstractmethod
    def reads(self, envelope: E) -> Reads:
        """What the worker reads before deciding (the operation's own records are added)."""

    def follow(self, envelope: E, snapshot: Snapshot) -> Optional[Reads]:
        """What to read next, named by what the first read found (None: nothing)."""
        return None

    @abstractmethod
    def apply(self, envelope: E, snapshot: Snapshot, change: Change) -> int:
        """Adds the change and its audit entry (`change.audit`) to `change.transaction`, or
        raises OperationFailed; answers the resource's new version."""


_KINDS: Dict[str, OperationKind[Any]] = {}


def register(kind: OperationKind[Any]) -> OperationKind[Any]:
    if kind.name in _KINDS:
        raise ValueError(f"operation type {kind.name!r} is registered twice")
    if kind.envelope.model_fields["operation"].default != kind.name:
        raise ValueError(f"operation type {kind.name!r} declares an envelope of another type")
    _KINDS[kind.name] = kind
    _envelope_adapter.cache_clear()
    return kind


def kind_of(envelope: OperationEnvelope) -> OperationKind[Any]:
    return _KINDS[envelope.operation]


def operation_types() -> tuple[str, ...]:
    return tuple(_KINDS)


@lru_cache(maxsize=1)
def _envelope_adapter() -> TypeAdapter[Any]:
    classes = tuple(kind.envelope for kind in _KINDS.values())
    union: Any = Annotated[Union[classes], Field(discriminator="operation")]
    return TypeAdapter(union, config=ConfigDict(defer_build=True))


class UnreadableMessage(ValueError):
    """A message whose JSON would not be stored as it was sent (a number no double holds,
    a name given twice, an integer too long): the API never sends one."""


def parse_envelope(body: str) -> OperationEnvelope:
    """The envelope in a queue message's body. Raises ValueError (pydantic's ValidationError,
    or UnreadableMessage) when it is not one the service would apply exactly as written."""
    from chalicelib.core import jsontext

    changes = jsontext.loads(body.encode("utf-8", "surrogatepass")).changes
    if changes:
        raise UnreadableMessage(f"{changes[0].message} at {'/'.join(str(part) for part in changes[0].path)}")
    envelope: OperationEnvelope = _envelope_adapter().validate_json(body)
    return envelope
