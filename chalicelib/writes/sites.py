"""`site.put`: creates or replaces a site."""

from __future__ import annotations

from typing import Any, Dict, Literal

from chalicelib.core import SiteFields, SiteSlug, StrictModel
from chalicelib.store import Reads, Site, SiteStore, Snapshot
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.registry import Change, OperationKind, applied_by, refuse_if_superseded, register


class SiteTarget(StrictModel):
    site: SiteSlug


class SitePutData(SiteFields, SiteTarget):
    """The site's slug, then what an editor sets on it."""


class SitePut(OperationEnvelope):
    operation: Literal["site.put"] = "site.put"
    data: SitePutData


class PutSite(OperationKind[SitePut]):
    name = "site.put"
    envelope = SitePut

    def resource(self, envelope: SitePut) -> str:
        return envelope.data.site

    def group(self, envelope: SitePut) -> str:
        return f"site:{envelope.data.site}"

    def reads(self, envelope: SitePut) -> Reads:
        return Reads(site=envelope.data.site)

    def apply(self, envelope: SitePut, snapshot: Snapshot, change: Change) -> int:
        previous = snapshot.site
        refuse_if_superseded(envelope, snapshot.site_applied, f"site '{envelope.data.site}'")
        site = Site(**envelope.data.model_dump(), **change.next_version(previous))
        SiteStore.add_put(change.transaction, site, previous.version if previous else None, applied_by(envelope))
        change.audit_versions(f"site/{site.site}", previous, site, _settings, site=site.site)
        if previous is None or _delivery(previous) != _delivery(site):
            # What the public routes answer with changed: who may fetch, and for how long caches keep it.
            change.emit("site.changed", site.site, version=site.version)
        return site.version


def _delivery(site: Site) -> Dict[str, Any]:
    return {"allowedOrigins": site.allowedOrigins, "cacheMaxAge": site.cacheMaxAge}


def _settings(site: Site) -> Dict[str, Any]:
    """What an editor sets on a site (not its version or times)."""
    return site.model_dump(mode="json", exclude={"site", "version", "createdAt", "updatedAt"})


register(PutSite())
