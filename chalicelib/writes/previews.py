"""`preview.create` and `preview.revoke`: links that show a config's draft (or one of its
versions) before it is published. The API mints the token and sends only its hash."""

from __future__ import annotations

from typing import Any, Dict, Literal, Optional, Union

from pydantic.fields import Field

from chalicelib.core import PageSlug, SiteSlug, StrictModel
from chalicelib.store import PreviewLink, PreviewStore, Reads, Snapshot
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.registry import Change, OperationFailed, OperationKind, register


class PreviewRevokeData(StrictModel):
    id: str
    configId: str


class PreviewCreateData(PreviewRevokeData):
    site: SiteSlug
    page: PageSlug
    version: Optional[int] = Field(default=None, ge=1)
    tokenHash: str = Field(pattern=r"^[0-9a-f]{64}$")
    expiresAt: str


class PreviewCreate(OperationEnvelope):
    operation: Literal["preview.create"] = "preview.create"
    data: PreviewCreateData


class PreviewRevoke(OperationEnvelope):
    operation: Literal["preview.revoke"] = "preview.revoke"
    data: PreviewRevokeData


PreviewEnvelope = Union[PreviewCreate, PreviewRevoke]


class _PreviewKind:
    """A link is the resource; it is applied in its config's group, in order with the config's writes."""

    def resource(self, envelope: PreviewEnvelope) -> str:
        return envelope.data.id

    def group(self, envelope: PreviewEnvelope) -> str:
        return f"config:{envelope.data.configId}"


class CreatePreview(_PreviewKind, OperationKind[PreviewCreate]):
    name = "preview.create"
    envelope = PreviewCreate

    def reads(self, envelope: PreviewEnvelope) -> Reads:
        return Reads(config_id=envelope.data.configId)

    def apply(self, envelope: PreviewCreate, snapshot: Snapshot, change: Change) -> int:
        data = envelope.data
        if snapshot.config is None:
            raise OperationFailed("NotFound", f"config '{data.configId}' does not exist (deleted meanwhile?)")
        link = PreviewLink(
            id=data.id,
            configId=data.configId,
            site=data.site,
            page=data.page,
            version=data.version,
            createdAt=change.stamp,
            expiresAt=data.expiresAt,
            createdBy=change.actor_name or change.actor,
        )
        PreviewStore.add_create(change.transaction, link, data.tokenHash)
        change.audit(f"preview/{link.id}", {}, _shown(link), site=link.site, page=link.page)
        return 1


class RevokePreview(_PreviewKind, OperationKind[PreviewRevoke]):
    name = "preview.revoke"
    envelope = PreviewRevoke

    def reads(self, envelope: PreviewEnvelope) -> Reads:
        return Reads(preview=(envelope.data.configId, envelope.data.id))

    def apply(self, envelope: PreviewRevoke, snapshot: Snapshot, change: Change) -> int:
        link, token_hash = snapshot.preview, snapshot.preview_token_hash
        if link is None or token_hash is None:
            raise OperationFailed("NotFound", f"no preview link '{envelope.data.id}' (revoked meanwhile?)")
        PreviewStore.add_revoke(change.transaction, link, token_hash)
        change.audit(f"preview/{link.id}", _shown(link), {}, site=link.site, page=link.page)
        return 1


def _shown(link: PreviewLink) -> Dict[str, Any]:
    return link.model_dump(include={"configId", "version", "expiresAt"}, exclude_none=True)


register(CreatePreview())
register(RevokePreview())
