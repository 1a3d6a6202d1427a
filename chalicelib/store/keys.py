"""Every key format of the single table, and nothing else.

Items and their keys (pk / sk, and gsi1pk / gsi1sk where an item is listed):

| item                      | pk                 | sk                  | gsi1pk   | gsi1sk      |
|---------------------------|--------------------|---------------------|----------|-------------|
| site                      | SITE#<site>        | SITE                | SITES    | <site>      |
| site's delivery settings  | SITE#<site>        | PAGE                |          |             |
|   (sorts before its pages)|                    |                     |          |             |
| page of a site (current   | SITE#<site>        | PAGE#<page>         |          |             |
|   config, unique per page)|                    |                     |          |             |
| layout schema of a site   | SITE#<site>        | SCHEMA#<layout>     |          |             |
| release of a site         | SITE#<site>        | RELEASE#<id>        | RELEASES_DUE (scheduled only)          |
|                           |                    |                     | <publishAt>#<site>#<id>                |
| config (current)          | CONFIG#<id>        | CURRENT             |          |             |
| config version (immutable)| CONFIG#<id>        | VERSION#<0000000042>|          |             |
| preview link (TTL)        | CONFIG#<id>        | PREVIEW#<linkId>    |          |             |
| preview token (TTL)       | PREVIEW#<sha256>   | PREVIEW             |          |             |
| operation (with TTL)      | OP#<operationId>   | OP                  |          |             |
| idempotency key (with TTL)| IDEMPOTENCY#<hash> | IDEMPOTENCY         |          |             |
| API token (hash only)     | TOKEN#<sha256>     | TOKEN               | TOKENS   | <tokenId>   |
| backup check run (TTL)    | CHECK#backups      | RUN#<time>#<runId>  |          |             |
| audit entry (TTL)         | AUDIT#SITE#<site>  | <time>#<opId>       |          |             |
|   (of no site: tokens)    | AUDIT#GLOBAL       | <time>#<opId>       |          |             |
| change events to send     | OUTBOX#<opId>      | EVENTS              | OUTBOX#<shard>         |
|   (outbox, TTL)           |                    |                     | <occurredAt>#<opId>    |
| webhook of a site         | SITE#<site>        | WEBHOOK#<name>      |          |             |
| webhook delivery attempt  | DELIVERIES#<site>#<name> | <attemptedAt>#<eventId>#<attempt> |  |  |
|   (TTL)                   |                    |                     |          |             |

A config's CURRENT item holds its latest version. Its page's item holds the latest
version too (for listings) and what the page serves (`published`): the public route for
(site, page) answers with one read; the route for an id reads the CURRENT item, then the
page. Publishing writes the page's item only. The site's delivery settings (its origins
and cache age, written with the site) sort just before its pages, so one Query of
`site_pages_range` reads them with every page: the manifest and the bundle.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

Key = Dict[str, str]

PK = "pk"
SK = "sk"
GSI1 = "gsi1"
GSI1_PK = "gsi1pk"
GSI1_SK = "gsi1sk"
TTL_ATTRIBUTE = "expiresAt"

SITE_SK = "SITE"
SITES_LIST = "SITES"
PAGE_PREFIX = "PAGE#"
# Before every `PAGE#<page>` ("PAGE" is a prefix of them), and after: '$' follows '#'.
SITE_PAGES_SK = "PAGE"
PAGES_END_SK = "PAGE$"
SCHEMA_PREFIX = "SCHEMA#"
RELEASE_PREFIX = "RELEASE#"
RELEASES_DUE = "RELEASES_DUE"
CURRENT_SK = "CURRENT"
PREVIEW_PREFIX = "PREVIEW#"
PREVIEW_SK = "PREVIEW"
VERSION_PREFIX = "VERSION#"
OPERATION_SK = "OP"
IDEMPOTENCY_SK = "IDEMPOTENCY"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
TOKEN_SK = "TOKEN"  # noqa: S105 (a sort key, not a secret)
TOKENS_LIST = "TOKENS"

CHECK_RUN_PREFIX = "RUN#"

# Zero-padded so that versions sort by number; ten digits outlast any page.
VERSION_DIGITS = 10


def site_pk(site: str) -> str:
    return f"SITE#{site}"


def site_key(site: str) -> Key:
    return {PK: site_pk(site), SK: SITE_SK}


def site_list_entry(site: str) -> Key:
    """The GSI1 attributes that list a site in `GET /sites`."""
    return {GSI1_PK: SITES_LIST, GSI1_SK: site}


def page_sk(page: str) -> str:
    return f"{PAGE_PREFIX}{page}"


def page_key(site: str, page: str) -> Key:
    return {PK: site_pk(site), SK: page_sk(page)}


def site_pages_key(site: str) -> Key:
    """The site's delivery settings, read with its pages (`site_pages_range`)."""
    return {PK: site_pk(site), SK: SITE_PAGES_SK}


def site_pages_range() -> Tuple[str, str]:
    """The sort keys of a site's delivery settings and of every page of it, and nothing
    else of its partition (schemas, releases, the site itself sort after)."""
    return SITE_PAGES_SK, PAGES_END_SK


def page_of(sort_key: str) -> str:
    """The page a page item's sort key names."""
    return sort_key[len(PAGE_PREFIX) :]


def schema_key(site: str, layout: str) -> Key:
    """A layout's settings schema lives in its site's partition: a config write reads it
    in the same BatchGetItem as the site and the page."""
    return {PK: site_pk(site), SK: f"{SCHEMA_PREFIX}{layout}"}


def config_pk(config_id: str) -> str:
    return f"CONFIG#{config_id}"


def config_key(config_id: str) -> Key:
    return {PK: config_pk(config_id), SK: CURRENT_SK}


def version_sk(version: int) -> str:
    return f"{VERSION_PREFIX}{version:0{VERSION_DIGITS}d}"


def version_key(config_id: str, version: int) -> Key:
    return {PK: config_pk(config_id), SK: version_sk(version)}


def is_version_position(text: str) -> bool:
    """A version number as a cursor carries it: ASCII digits that fit the sort key."""
    return 1 <= len(text) <= VERSION_DIGITS and text.isascii() and text.isdigit()


def operation_key(operation_id: str) -> Key:
    return {PK: f"OP#{operation_id}", SK: OPERATION_SK}


def idempotency_key(key_hash: str) -> Key:
    return {PK: f"{IDEMPOTENCY_PREFIX}{key_hash}", SK: IDEMPOTENCY_SK}


def token_key(token_hash: str) -> Key:
    return {PK: f"TOKEN#{token_hash}", SK: TOKEN_SK}


def token_list_entry(token_id: str) -> Key:
    return {GSI1_PK: TOKENS_LIST, GSI1_SK: token_id}


def backup_checks_pk() -> str:
    """The scheduled check writes only under this partition (its IAM policy says so)."""
    return "CHECK#backups"


def backup_check_key(checked_at: str, run_id: str) -> Key:
    # ISO timestamps sort by time: the newest run is the first of a descending query.
    return {PK: backup_checks_pk(), SK: f"{CHECK_RUN_PREFIX}{checked_at}#{run_id}"}


def audit_pk(site: Optional[str]) -> str:
    """A site's audit trail is one partition, newest last; what belongs to no site
    (tokens) has its own."""
    return f"AUDIT#SITE#{site}" if site else "AUDIT#GLOBAL"


def audit_key(site: Optional[str], at: str, operation_id: str) -> Key:
    return {PK: audit_pk(site), SK: f"{at}#{operation_id}"}


def preview_link_key(config_id: str, link_id: str) -> Key:
    """A preview link, listed with its config (its token is found by `preview_token_key`)."""
    return {PK: config_pk(config_id), SK: f"{PREVIEW_PREFIX}{link_id}"}


def preview_token_key(token_hash: str) -> Key:
    return {PK: f"{PREVIEW_PREFIX}{token_hash}", SK: PREVIEW_SK}


def release_key(site: str, release_id: str) -> Key:
    return {PK: site_pk(site), SK: f"{RELEASE_PREFIX}{release_id}"}


def release_due_entry(publish_at: str, site: str, release_id: str) -> Key:
    """The GSI1 attributes of a scheduled release: the scheduler queries those due."""
    return {GSI1_PK: RELEASES_DUE, GSI1_SK: f"{publish_at}#{site}#{release_id}"}


OUTBOX_SHARDS = 8
OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_SK = "EVENTS"


def outbox_pk(operation_id: str) -> str:
    """The events an operation's change emits, written in its transaction."""
    return f"{OUTBOX_PREFIX}{operation_id}"


def outbox_key(operation_id: str) -> Key:
    return {PK: outbox_pk(operation_id), SK: OUTBOX_SK}


def outbox_shard(operation_id: str) -> str:
    """The GSI1 partition the sweeper finds an unsent event in: spread over a few, so
    that a burst of writes does not meet on one partition of the index."""
    return f"OUTBOX#{sum(operation_id.encode()) % OUTBOX_SHARDS}"


def outbox_entry(operation_id: str, occurred_at: str) -> Key:
    return {GSI1_PK: outbox_shard(operation_id), GSI1_SK: f"{occurred_at}#{operation_id}"}


def outbox_shards() -> list[str]:
    return [f"OUTBOX#{shard}" for shard in range(OUTBOX_SHARDS)]


WEBHOOK_PREFIX = "WEBHOOK#"
DELIVERIES_PREFIX = "DELIVERIES#"


def webhook_key(site: str, name: str) -> Key:
    """A webhook lives in its site's partition: the worker lists a site's webhooks with one
    Query when it sends the site's events."""
    return {PK: site_pk(site), SK: f"{WEBHOOK_PREFIX}{name}"}


def deliveries_pk(site: str, name: str) -> str:
    """A webhook's delivery log: one partition, oldest first (slugs hold no '#')."""
    return f"{DELIVERIES_PREFIX}{site}#{name}"


def delivery_key(site: str, name: str, attempted_at: str, event_id: str, attempt: int) -> Key:
    return {PK: deliveries_pk(site, name), SK: f"{attempted_at}#{event_id}#{attempt:03d}"}
