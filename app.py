"""Metadata Manager: the routes, the queue worker and the authorizer. Each handler parses,
calls one thing in `chalicelib`, and answers; the README documents every route."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

from botocore.exceptions import BotoCoreError
from chalice.app import AuthRequest, AuthResponse, Chalice, CloudWatchEvent, Rate, Response, SQSEvent

from chalicelib import access, delivery, editorial, upkeep
from chalicelib.core import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PAGE_PATTERN,
    SITE_PATTERN,
    is_page_slug,
    is_site_slug,
    is_template_name,
    is_webhook_name,
    required_setting,
    set_up_hint,
    unreachable,
)
from chalicelib.core.errors import BadRequest, Conflict, DependencyUnavailable, NotFound
from chalicelib.core.etags import if_none_match_holds, schema_etag
from chalicelib.core.ids import is_config_id, is_release_id
from chalicelib.core.logs import get_logger
from chalicelib.services import Services, get_services
from chalicelib.web import Call, Param, empty_response, endpoint, http_middleware, json_response
from chalicelib.web.endpoint import CURSOR, DRY_RUN, FORCE, IDEMPOTENCY_KEY, IF_MATCH, IF_NONE_MATCH, LIMIT, ORIGIN

if TYPE_CHECKING:
    from chalicelib.access import Scope
    from chalicelib.store import Listing, Webhook
    from chalicelib.web.models import (
        ConfigContent,
        ConfigCreateInput,
        PreviewLinkInput,
        PublishInput,
        ReleaseInput,
        SchemaInput,
        SiteInput,
        WebhookInput,
    )
    from chalicelib.writes import Answer, Submission

# Routes name their bodies' and answers' models: `chalicelib.web.models` is loaded when one
# is first needed, not when this module is imported (a cold start builds no model).
app = Chalice(app_name="metadata-manager", configure_logs=False)
log = get_logger()
app.register_middleware(http_middleware(app, log), "http")

SITE_QUERY = Param(
    "site", "The site whose configs to list.", required=True, schema={"type": "string", "pattern": SITE_PATTERN}
)
PAGE_QUERY = Param("page", "Only this page's config.", schema={"type": "string", "pattern": PAGE_PATTERN})

DIFF_FROM = Param(
    "from", "A version number, `published` (the default) or `draft`.", schema={"type": "string", "default": "published"}
)
DIFF_TO = Param(
    "to", "A version number, `published` or `draft` (the default).", schema={"type": "string", "default": "draft"}
)
SINCE = Param(
    "since",
    "Only entries at or after this time (ISO 8601 with a time zone).",
    schema={"type": "string", "format": "date-time"},
)
UNTIL = Param(
    "until",
    "Only entries before this time (ISO 8601 with a time zone).",
    schema={"type": "string", "format": "date-time"},
)

RELEASE_STATUSES = ("open", "approved", "scheduled", "published", "cancelled", "failed", "reverted")
RELEASE_STATUS = Param(
    "status", "Only the releases in this status.", schema={"type": "string", "enum": list(RELEASE_STATUSES)}
)
SITE_CURSOR = Param(
    "cursor",
    "The `nextCursor` of the previous part, exactly as received: a site whose pages' items hold more than "
    "1 MB is answered in parts.",
)
PREVIEW_TOKEN = Param("token", "A preview link's token (instead of a bearer token).")
AUTHORIZATION = Param("Authorization", "`Bearer <token>` with the read scope (instead of a preview link's token).")

REDRIVE_LIMIT = Param(
    "limit", "At most this many messages.", schema={"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}
)
MAX_REDRIVE = 1000

# When the backup check runs; like the queue's name, fixed when the app is packaged.
BACKUP_CHECK_MINUTES = int(os.environ.get("BACKUP_CHECK_RATE_MINUTES", "60"))

# The queues' names are fixed when the app is packaged; see .chalice/config.json.
WRITE_QUEUE_NAME = required_setting("WRITE_QUEUE_NAME", "it names the queue the worker apply_writes listens to")
WEBHOOK_QUEUE_NAME = required_setting("WEBHOOK_QUEUE_NAME", "it names the queue deliver_webhooks listens to")
REDRIVE_QUEUE = Param(
    "queue",
    "Which dead-letter queue: the write queue's (`writes`), or the webhook delivery queue's (`webhooks`).",
    schema={"type": "string", "enum": ["writes", "webhooks"], "default": "writes"},
)


if os.environ.get("AWS_CHALICE_CLI_MODE") == "true" and os.environ.get("APP_STAGE") == "local":
    # `chalice local --stage local`: the running local stack's AWS, if any (never in Lambda).
    from devstack.chalice_local import use_running_stack

    use_running_stack()


def services() -> Services:
    return get_services()


def write_endpoint(
    scope: Scope, errors: Tuple[int, ...], headers: Tuple[Param, ...] = (IDEMPOTENCY_KEY,)
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """A write route: 202 with its operation, or 200 for a dry run (`?dryRun=true`)."""
    return endpoint(
        app,
        log,
        scope=scope,
        answers={202: "Accepted", 200: "Checked"},
        errors=errors,
        query=(DRY_RUN,),
        headers=headers,
    )


def submission(call: Call) -> Submission:
    from chalicelib.writes import Submission  # the write machinery loads with the first write

    dry_run = call.query_flag("dryRun")
    return Submission(
        call.actor, call.request_id, call.request.method, call.path, call.idempotency_key(), dry_run, call.actor_name
    )


def accepted(result: Answer) -> Response:
    """202 with the operation; 200 for a dry run that found nothing wrong."""
    from chalicelib.core import Accepted

    if isinstance(result, Accepted):
        return json_response(result, status=202, headers={"Location": f"/operations/{result.operationId}"})
    return json_response(result)


# --- auth ------------------------------------------------------------------------------


@app.authorizer(ttl_seconds=60)
def token_authorizer(request: AuthRequest) -> AuthResponse:
    """Resolves the bearer token; each route demands its scope from the context.

    API Gateway caches this answer per token for 60 s, so it is only ever what the token
    table says: a token nobody holds is denied (401). When the table cannot be read this
    raises, which API Gateway answers with a 503 (its gateway response) and never caches."""
    try:
        try:
            principal = access.authenticate(request.token, services().store.tokens)
        except BotoCoreError as exc:  # before any call: no region or credentials, say
            raise unreachable(exc, set_up_hint()) from exc
    except Exception as exc:
        reason = exc.message if isinstance(exc, DependencyUnavailable) else f"the tokens could not be read ({exc})"
        log.warning("tokens cannot be checked; the request is refused for now", extra={"reason": reason})
        if os.environ.get("AWS_CHALICE_CLI_MODE") == "true":
            # `chalice local` drops the connection when an authorizer raises: let the
            # route answer the 503 instead (Chalice sets this variable for its commands).
            unchecked = access.Principal.unchecked(reason)
            return AuthResponse(routes=["*"], principal_id="unchecked", context=unchecked.context())
        raise
    if not principal.scope:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal.token_id, context=principal.context())


# --- public ----------------------------------------------------------------------------


@app.route("/health", methods=["GET"])
@endpoint(app, log, scope=None, answers={200: "Health"})
def health(call: Call) -> Response:
    """Liveness: cheap, public, and says nothing about the data."""
    return json_response({"status": "ok", "service": app.app_name, "stage": services().settings.stage})


@app.route("/openapi.json", methods=["GET"])
@endpoint(app, log, scope=None, answers={200: None})
def openapi_document(call: Call) -> Response:
    """This API, described as an OpenAPI 3 document."""
    from chalicelib.web import openapi  # built on first use: no other route needs it

    return json_response(openapi.document(app))


@app.route("/sites/{site}/pages/{page}", methods=["GET"])
@endpoint(app, log, scope=None, answers={200: "PageRender", 304: None}, errors=(404,), headers=(ORIGIN, IF_NONE_MATCH))
def render_page(call: Call, site: str, page: str) -> Response:
    """The render config of one page, for frontends: cacheable, with CORS for the site."""
    return delivery.page_response(
        services().store.snapshots, site, page, call.header("Origin"), call.header("If-None-Match"), call.request_id
    )


@app.route("/sites/{site}/pages/{page}", methods=["OPTIONS"])
@endpoint(app, log, scope=None, answers={204: None}, errors=(404,), headers=(ORIGIN,))
def render_page_preflight(call: Call, site: str, page: str) -> Response:
    """CORS preflight, granted to the site's allowed origins only."""
    if not (is_site_slug(site) and is_page_slug(page)):
        return delivery.impossible_page_response(site, page, call.request_id)
    return delivery.preflight_response(services().store.sites.get(site), call.header("Origin"))


@app.route("/sites/{site}/manifest", methods=["GET"])
@endpoint(
    app,
    log,
    scope=None,
    answers={200: "SiteManifest", 304: None},
    errors=(400, 404),
    query=(SITE_CURSOR,),
    headers=(ORIGIN, IF_NONE_MATCH),
)
def site_manifest(call: Call, site: str) -> Response:
    """Every page the site serves, with its version, ETag and updatedAt: what a build or a
    server-side renderer checks before fetching anything (one read; its ETag is the bundle's)."""
    return delivery.manifest_response(
        services().store.published,
        site,
        call.query("cursor"),
        call.header("Origin"),
        call.header("If-None-Match"),
        call.request_id,
    )


@app.route("/sites/{site}/bundle", methods=["GET"])
@endpoint(
    app,
    log,
    scope=None,
    answers={200: "SiteBundle", 304: None},
    errors=(400, 404),
    query=(SITE_CURSOR,),
    headers=(ORIGIN, IF_NONE_MATCH),
)
def site_bundle(call: Call, site: str) -> Response:
    """The render config of every page the site serves, as the page route answers each: a
    whole site in one request and one read, for builds and server-side renderers."""
    return delivery.bundle_response(
        services().store.published,
        site,
        call.query("cursor"),
        call.header("Origin"),
        call.header("If-None-Match"),
        call.request_id,
    )


@app.route("/sites/{site}/manifest", methods=["OPTIONS"])
@endpoint(app, log, scope=None, answers={204: None}, errors=(404,), headers=(ORIGIN,))
def site_manifest_preflight(call: Call, site: str) -> Response:
    """CORS preflight, granted to the site's allowed origins only."""
    return _site_preflight(call, site)


@app.route("/sites/{site}/bundle", methods=["OPTIONS"])
@endpoint(app, log, scope=None, answers={204: None}, errors=(404,), headers=(ORIGIN,))
def site_bundle_preflight(call: Call, site: str) -> Response:
    """CORS preflight, granted to the site's allowed origins only."""
    return _site_preflight(call, site)


def _site_preflight(call: Call, site: str) -> Response:
    if not is_site_slug(site):
        return delivery.impossible_site_response(site, call.request_id)
    return delivery.preflight_response(services().store.sites.get(site), call.header("Origin"))


@app.route("/metadata/{id}", methods=["GET"])
@endpoint(app, log, scope=None, answers={200: "RenderConfig", 304: None}, errors=(404,), headers=(IF_NONE_MATCH,))
def get_config(call: Call, id: str) -> Response:
    """One config by id as its page serves it (the published version), with its ETag."""
    state = services().store.configs.state(id) if is_config_id(id) else None
    return delivery.config_response(state, id, call.header("If-None-Match"), call.request_id)


# --- the console -------------------------------------------------------------------------


@app.route("/console", methods=["GET"])
@endpoint(app, log, scope=None, answers={200: None, 304: None}, headers=(IF_NONE_MATCH,), media=("text/html",))
def console_page(call: Call) -> Response:
    """The console: a web application for editors and admins, which uses this API with a token."""
    from chalicelib import console  # with the console's first request, never at cold start

    return console.page_response(call.header("If-None-Match"))


@app.route("/console/assets/{asset}", methods=["GET"])
@endpoint(
    app,
    log,
    scope=None,
    answers={200: None, 304: None},
    errors=(404,),
    headers=(IF_NONE_MATCH,),
    media=("text/javascript", "text/css"),
)
def console_asset(call: Call, asset: str) -> Response:
    """A script or stylesheet of the console; its name changes with its content, so it is kept for a year."""
    from chalicelib import console

    return console.asset_response(asset, call.header("If-None-Match"))


# --- sites -----------------------------------------------------------------------------


@app.route("/sites/{site}", methods=["PUT"], authorizer=token_authorizer)
@write_endpoint("admin", errors=(400, 409, 413, 415, 422))
def put_site(call: Call, site: str, body: SiteInput) -> Response:
    """Creates or replaces a site (asynchronously)."""
    if not is_site_slug(site):
        raise BadRequest("a site slug is 1 to 63 of a-z, 0-9 and '-', starting with a letter or digit")
    return accepted(services().desk.put_site(site, body, submission(call)))


@app.route("/sites/{site}", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "Site"}, errors=(404,))
def get_site(call: Call, site: str) -> Response:
    """One site."""
    found = services().store.sites.get(site) if is_site_slug(site) else None
    if found is None:
        raise NotFound(f"no site '{site}'")
    return json_response(found)


@app.route("/sites", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "SitePage"}, errors=(400,), query=(LIMIT, CURSOR))
def list_sites(call: Call) -> Response:
    """All sites, by slug, a page at a time."""
    listing = services().store.sites.list(
        call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE), call.query("cursor")
    )
    return json_response(_page(listing.items, listing.next_cursor))


# --- settings schemas ------------------------------------------------------------------


@app.route("/sites/{site}/schemas/{layout}", methods=["PUT"], authorizer=token_authorizer)
@endpoint(
    app,
    log,
    scope="admin",
    answers={202: "Accepted", 200: "ImpactReport"},
    errors=(400, 404, 409, 412, 413, 415, 422),
    query=(DRY_RUN, FORCE),
    headers=(IF_MATCH, IDEMPOTENCY_KEY),
)
def put_schema(call: Call, site: str, layout: str, body: SchemaInput) -> Response:
    """Sets the settings schema of a layout (asynchronously); the dry run is its impact report."""
    _schema_path(site, layout)
    desk = services().schema_desk
    result = desk.put_schema(site, layout, body, call.header("If-Match"), call.query_flag("force"), submission(call))
    from chalicelib.core import ImpactReport

    return json_response(result) if isinstance(result, ImpactReport) else accepted(result)


@app.route("/sites/{site}/schemas/{layout}", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "LayoutSchema", 304: None}, errors=(404,), headers=(IF_NONE_MATCH,))
def get_schema(call: Call, site: str, layout: str) -> Response:
    """The settings schema of a layout, with its ETag (for If-Match when changing it)."""
    found = services().store.schemas.get(site, layout) if is_site_slug(site) and is_template_name(layout) else None
    if found is None:
        raise NotFound(f"layout '{layout}' of site '{site}' has no schema")
    tag = schema_etag(site, layout, found.version, found.createdAt)
    if if_none_match_holds(call.header("If-None-Match") or "", tag):
        return empty_response(304, {"ETag": tag, "Cache-Control": "no-cache"})
    return json_response(found, headers={"ETag": tag, "Cache-Control": "no-cache"})


@app.route("/sites/{site}/schemas", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "SchemaPage"}, errors=(400, 404), query=(LIMIT, CURSOR))
def list_schemas(call: Call, site: str) -> Response:
    """The settings schemas of a site's layouts, by layout.

    A site that does not exist is a 404."""
    if not is_site_slug(site):
        raise NotFound(f"no site '{site}'")
    limit = call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    listing = services().store.schemas.list(site, limit, call.query("cursor"))
    return _site_page(site, listing)


@app.route("/sites/{site}/schemas/{layout}", methods=["DELETE"], authorizer=token_authorizer)
@write_endpoint("admin", errors=(400, 404, 409, 412), headers=(IF_MATCH, IDEMPOTENCY_KEY))
def delete_schema(call: Call, site: str, layout: str) -> Response:
    """Removes the settings schema of a layout (asynchronously); its configs stay as they are."""
    _schema_path(site, layout)
    return accepted(services().schema_desk.delete_schema(site, layout, call.header("If-Match"), submission(call)))


def _schema_path(site: str, layout: str) -> None:
    if not is_site_slug(site):
        raise NotFound(f"no site '{site}'")
    if not is_template_name(layout):
        raise BadRequest(
            "a layout is 1 to 100 of A-Z, a-z, 0-9, '.', '_', '/' and '-', starting with a letter or digit"
        )


# --- configs ---------------------------------------------------------------------------


@app.route("/metadata", methods=["POST"], authorizer=token_authorizer)
@write_endpoint("write", errors=(400, 409, 413, 415, 422))
def create_config(call: Call, body: ConfigCreateInput) -> Response:
    """Creates the config of a page (asynchronously)."""
    return accepted(services().desk.create_config(body, submission(call)))


@app.route("/metadata/{id}", methods=["PUT"], authorizer=token_authorizer)
@write_endpoint("write", errors=(400, 404, 409, 412, 413, 415, 422), headers=(IF_MATCH, IDEMPOTENCY_KEY))
def update_config(call: Call, id: str, body: ConfigContent) -> Response:
    """Replaces a config's layout, theme and settings (asynchronously)."""
    if not is_config_id(id):
        raise NotFound(f"no config '{id}'")
    return accepted(services().desk.update_config(id, body, call.header("If-Match"), submission(call)))


@app.route("/metadata/{id}", methods=["DELETE"], authorizer=token_authorizer)
@write_endpoint("write", errors=(400, 404, 409, 412), headers=(IF_MATCH, IDEMPOTENCY_KEY))
def delete_config(call: Call, id: str) -> Response:
    """Deletes a config and frees its page (asynchronously); its history stays."""
    if not is_config_id(id):
        raise NotFound(f"no config '{id}'")
    return accepted(services().desk.delete_config(id, call.header("If-Match"), submission(call)))


@app.route("/metadata/{id}/draft", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "RenderConfig", 304: None}, errors=(404,), headers=(IF_NONE_MATCH,))
def get_draft(call: Call, id: str) -> Response:
    """A config's latest version (a draft when it is ahead of `publishedVersion`), with its
    ETag: the one If-Match names when changing the config."""
    state = services().store.configs.state(id) if is_config_id(id) else None
    return delivery.config_response(state, id, call.header("If-None-Match"), call.request_id, draft=True)


@app.route("/metadata/{id}/publish", methods=["POST"], authorizer=token_authorizer)
@write_endpoint("write", errors=(400, 404, 409, 412, 413, 415, 422), headers=(IF_MATCH, IDEMPOTENCY_KEY))
def publish_config(call: Call, id: str, body: PublishInput) -> Response:
    """Makes the page serve one version of its config (an older one: a rollback), asynchronously.
    If-Match names what the page serves now (the ETag of GET /metadata/{id})."""
    if not is_config_id(id):
        raise NotFound(f"no config '{id}'")
    desk = services().desk
    return accepted(desk.publish_config(id, body.version, call.header("If-Match"), submission(call)))


@app.route("/metadata/{id}/unpublish", methods=["POST"], authorizer=token_authorizer)
@write_endpoint("write", errors=(400, 404, 409, 412), headers=(IF_MATCH, IDEMPOTENCY_KEY))
def unpublish_config(call: Call, id: str) -> Response:
    """Takes the page off the site (it answers 404) without losing the config or its history."""
    if not is_config_id(id):
        raise NotFound(f"no config '{id}'")
    return accepted(services().desk.unpublish_config(id, call.header("If-Match"), submission(call)))


@app.route("/metadata/{id}/preview-links", methods=["POST"], authorizer=token_authorizer)
@endpoint(
    app,
    log,
    scope="write",
    answers={202: "PreviewLinkAccepted", 200: "Checked"},
    errors=(400, 404, 409, 413, 415, 422),
    query=(DRY_RUN,),
    headers=(IDEMPOTENCY_KEY,),
)
def create_preview_link(call: Call, id: str, body: PreviewLinkInput) -> Response:
    """A link that shows the config's draft (or one version) to whoever holds it, until it
    expires (at most 7 days) or is revoked; its token is in this answer only."""
    if not is_config_id(id):
        raise NotFound(f"no config '{id}'")
    desk = services().preview_desk
    return accepted(desk.create_preview_link(id, body.version, body.expiresIn, submission(call)))


@app.route("/metadata/{id}/preview-links", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "PreviewLinkList"}, errors=(404,))
def list_preview_links(call: Call, id: str) -> Response:
    """The config's preview links that have not expired, newest first (never their tokens)."""
    links = services().store.previews.of_config(id) if is_config_id(id) else []
    if not links and (not is_config_id(id) or services().store.configs.state(id) is None):
        raise NotFound(f"no config '{id}'")
    from chalicelib.web.models import PreviewLinkList

    return json_response(PreviewLinkList(items=links))


@app.route("/metadata/{id}/preview-links/{link}", methods=["DELETE"], authorizer=token_authorizer)
@write_endpoint("write", errors=(400, 404, 409))
def revoke_preview_link(call: Call, id: str, link: str) -> Response:
    """Revokes a preview link (asynchronously): its token opens nothing once this is applied."""
    if not (is_config_id(id) and is_config_id(link)):
        raise NotFound(f"config '{id}' has no preview link '{link}'")
    return accepted(services().preview_desk.revoke_preview_link(id, link, submission(call)))


@app.route("/preview/sites/{site}/pages/{page}", methods=["GET"])
@endpoint(
    app,
    log,
    scope=None,
    answers={200: "PageRender"},
    errors=(401, 403, 404),
    query=(PREVIEW_TOKEN,),
    headers=(AUTHORIZATION, ORIGIN),
    private=True,
)
def preview_page(call: Call, site: str, page: str) -> Response:
    """A page's draft (or the version its preview link names), for editors (a read token)
    and for whoever holds a preview link (`?token=`): never cached, never indexed."""
    return delivery.preview_response(
        services().store,
        site,
        page,
        call.header("Authorization"),
        call.query("token"),
        call.header("Origin"),
        call.request_id,
    )


@app.route("/preview/sites/{site}/pages/{page}", methods=["OPTIONS"])
@endpoint(app, log, scope=None, answers={204: None}, errors=(404,), headers=(ORIGIN,), private=True)
def preview_page_preflight(call: Call, site: str, page: str) -> Response:
    """CORS preflight for previews: the site's allowed origins, with Authorization."""
    if not (is_site_slug(site) and is_page_slug(page)):
        return delivery.impossible_preview_response(site, page, call.request_id)
    return empty_response(204, delivery.preview_preflight(services().store, site, call.header("Origin")))


@app.route("/metadata/{id}/diff", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "ConfigDiff"}, errors=(400, 404), query=(DIFF_FROM, DIFF_TO))
def diff_config(call: Call, id: str) -> Response:
    """What changed between two versions of a config: an RFC 6902 patch and each field's change."""
    start = editorial.parse_version_ref("from", call.query("from"), "published")
    end = editorial.parse_version_ref("to", call.query("to"), "draft")
    if not is_config_id(id):
        raise NotFound(f"no config '{id}'")
    return json_response(editorial.diff(services().store.configs, id, start, end))


@app.route("/metadata", methods=["GET"], authorizer=token_authorizer)
@endpoint(
    app, log, scope="read", answers={200: "ConfigPage"}, errors=(400,), query=(SITE_QUERY, PAGE_QUERY, LIMIT, CURSOR)
)
def list_configs(call: Call) -> Response:
    """The configs of a site, by page; `page` narrows it to one page."""
    site, page = call.query("site"), call.query("page")
    if site is None or not is_site_slug(site):
        raise BadRequest("query parameter 'site' is required: a site slug")
    if page is not None and not is_page_slug(page):
        raise BadRequest("query parameter 'page' must be a page slug")
    limit = call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    listing = services().store.configs.list(site, page, limit, call.query("cursor"))
    return json_response(_page(listing.items, listing.next_cursor))


@app.route("/metadata/{id}/versions", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "VersionPage"}, errors=(400, 404), query=(LIMIT, CURSOR))
def list_versions(call: Call, id: str) -> Response:
    """A config's versions, newest first, including its deletion."""
    limit = call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    listing = services().store.configs.versions(id, limit, call.query("cursor")) if is_config_id(id) else None
    if listing is None or (not listing.items and call.query("cursor") is None):
        raise NotFound(f"no config '{id}'")
    return json_response(_page(listing.items, listing.next_cursor))


@app.route("/operations/{operation_id}", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="write", answers={200: "Operation"}, errors=(404,))
def get_operation(call: Call, operation_id: str) -> Response:
    """How an accepted write is going: pending, succeeded or failed."""
    return json_response(services().desk.operation(operation_id))


# --- releases ----------------------------------------------------------------------------


@app.route("/sites/{site}/releases", methods=["POST"], authorizer=token_authorizer)
@write_endpoint("write", errors=(400, 404, 409, 413, 415, 422))
def create_release(call: Call, site: str, body: ReleaseInput) -> Response:
    """Gathers up to 50 (config, version) pairs of the site into a release (asynchronously)."""
    if not is_site_slug(site):
        raise NotFound(f"no site '{site}'")
    return accepted(services().release_desk.create_release(site, body, submission(call)))


@app.route("/sites/{site}/releases", methods=["GET"], authorizer=token_authorizer)
@endpoint(
    app, log, scope="read", answers={200: "ReleasePage"}, errors=(400, 404), query=(RELEASE_STATUS, LIMIT, CURSOR)
)
def list_releases(call: Call, site: str) -> Response:
    """The site's releases, newest first; `status` narrows it.

    A site that does not exist is a 404."""
    status = call.query("status")
    if status is not None and status not in RELEASE_STATUSES:
        raise BadRequest(f"query parameter 'status' is one of {', '.join(RELEASE_STATUSES)}")
    if not is_site_slug(site):
        raise NotFound(f"no site '{site}'")
    limit = call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    listing = services().store.releases.list(site, status, limit, call.query("cursor"))
    return _site_page(site, listing)


@app.route("/sites/{site}/releases/{release}", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="read", answers={200: "ReleaseView"}, errors=(404,))
def get_release(call: Call, site: str, release: str) -> Response:
    """One release, each page with what publishing it changes against what the page serves now."""
    found = services().store.releases.get(site, release) if is_site_slug(site) and is_release_id(release) else None
    if found is None:
        raise NotFound(f"site '{site}' has no release '{release}'")
    return json_response(editorial.release_view(services().store.snapshots, found))


def _release_action(name: str, doc: str) -> None:
    """POST /sites/{site}/releases/{release}/<name>: one of the release's transitions."""

    def act(call: Call, site: str, release: str) -> Response:
        if not (is_site_slug(site) and is_release_id(release)):
            raise NotFound(f"site '{site}' has no release '{release}'")
        desk = services().release_desk
        return accepted(getattr(desk, name)(site, release, submission(call)))

    act.__name__ = f"{name}_release"
    act.__doc__ = doc
    view = write_endpoint("write", errors=(400, 404, 409))(act)
    app.route(f"/sites/{{site}}/releases/{{release}}/{name}", methods=["POST"], authorizer=token_authorizer)(view)


_release_action("approve", "Approves the release (asynchronously): once per token, never by the token that created it.")
_release_action("publish", "Publishes every page of the approved release in one transaction, or none (asynchronously).")
_release_action("cancel", "Cancels a release that is not published (asynchronously).")
_release_action("revert", "Puts back what each page served before the release, in one transaction (asynchronously).")


@app.schedule(Rate(1, unit=Rate.MINUTES))
def publish_due_releases(event: CloudWatchEvent) -> Dict[str, Any]:
    """Queues the publication of every scheduled release whose time has come: late if this
    did not run for a while, never skipped."""
    return {"queued": services().release_desk.publish_due()}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def send_unsent_events(event: CloudWatchEvent) -> Dict[str, Any]:
    """Sends the change events a worker left in the outbox (EventBridge was down, or the
    function died between commit and send, and the message did not come back)."""
    context: Any = event.context  # the Lambda context (typed as a dict by Chalice): its time left bounds the sweep
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    return {"sent": services().events.sweep(services().clock(), time_left)}


# --- audit ---------------------------------------------------------------------------


@app.route("/sites/{site}/audit", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={200: "AuditPage"}, errors=(400, 404), query=(SINCE, UNTIL, LIMIT, CURSOR))
def site_audit(call: Call, site: str) -> Response:
    """What was changed on a site, by whom and how, newest first.

    A site that does not exist is a 404."""
    if not is_site_slug(site):
        raise NotFound(f"no site '{site}'")
    return _audit(call, site)


@app.route("/admin/audit", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={200: "AuditPage"}, errors=(400,), query=(SINCE, UNTIL, LIMIT, CURSOR))
def global_audit(call: Call) -> Response:
    """Changes that belong to no site (tokens created and revoked), newest first."""
    return _audit(call, None)


def _audit(call: Call, site: Optional[str]) -> Response:
    since, until = call.query_time("since"), call.query_time("until")
    limit = call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    listing = services().store.audit.list(site, since, until, limit, call.query("cursor"))
    return _site_page(site, listing) if site is not None else json_response(_page(listing.items, listing.next_cursor))


def _site_page(site: str, listing: Listing) -> Response:
    """A page of a listing under /sites/{site}: when it is empty, the site is read too, so
    that a site that does not exist is a 404, as its items are (a listing that finds
    something costs no read more)."""
    if not listing.items and services().store.sites.get(site) is None:
        raise NotFound(f"no site '{site}'")
    return json_response(_page(listing.items, listing.next_cursor))


def _page(items: Any, next_cursor: Optional[str]) -> Dict[str, Any]:
    return {"items": [item.model_dump(mode="json", exclude_none=True) for item in items], "nextCursor": next_cursor}


# --- webhooks --------------------------------------------------------------------------


@app.route("/sites/{site}/webhooks/{name}", methods=["PUT"], authorizer=token_authorizer)
@endpoint(
    app,
    log,
    scope="admin",
    answers={202: "WebhookAccepted", 200: "Checked"},
    errors=(400, 404, 409, 413, 415, 422),
    query=(DRY_RUN,),
    headers=(IDEMPOTENCY_KEY,),
)
def put_webhook(call: Call, site: str, name: str, body: WebhookInput) -> Response:
    """Creates or replaces a webhook (asynchronously). A new webhook's signing secret is in
    this answer only; replacing one keeps its secret."""
    _webhook_path(site, name)
    return accepted(services().webhook_desk.put_webhook(site, name, body, submission(call)))


@app.route("/sites/{site}/webhooks/{name}", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={200: "Webhook"}, errors=(404,))
def get_webhook(call: Call, site: str, name: str) -> Response:
    """One webhook: where it posts, which events, whether it is enabled, when its secrets were made."""
    return json_response(_webhook(site, name))


@app.route("/sites/{site}/webhooks", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={200: "WebhookPage"}, errors=(400, 404), query=(LIMIT, CURSOR))
def list_webhooks(call: Call, site: str) -> Response:
    """The site's webhooks, by name.

    A site that does not exist is a 404."""
    if not is_site_slug(site):
        raise NotFound(f"no site '{site}'")
    limit = call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return _site_page(site, services().store.webhooks.list(site, limit, call.query("cursor")))


@app.route("/sites/{site}/webhooks/{name}", methods=["DELETE"], authorizer=token_authorizer)
@write_endpoint("admin", errors=(400, 404, 409))
def delete_webhook(call: Call, site: str, name: str) -> Response:
    """Deletes a webhook (asynchronously): deliveries waiting for a retry are dropped; its
    delivery log stays for 30 days."""
    _webhook_path(site, name)
    return accepted(services().webhook_desk.delete_webhook(site, name, submission(call)))


@app.route("/sites/{site}/webhooks/{name}/rotate-secret", methods=["POST"], authorizer=token_authorizer)
@endpoint(
    app,
    log,
    scope="admin",
    answers={202: "WebhookAccepted", 200: "Checked"},
    errors=(400, 404, 409),
    query=(DRY_RUN,),
    headers=(IDEMPOTENCY_KEY,),
)
def rotate_webhook_secret(call: Call, site: str, name: str) -> Response:
    """Makes a new signing secret (in this answer only). The previous one signs too for 24
    hours, so the receiver can switch over without missing a delivery."""
    _webhook_path(site, name)
    return accepted(services().webhook_desk.rotate_secret(site, name, submission(call)))


@app.route("/sites/{site}/webhooks/{name}/deliveries", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={200: "DeliveryPage"}, errors=(400, 404), query=(LIMIT, CURSOR))
def list_deliveries(call: Call, site: str, name: str) -> Response:
    """Every attempt to deliver an event to the webhook, newest first (kept 30 days)."""
    limit = call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    if not (is_site_slug(site) and is_webhook_name(name)):
        raise NotFound(f"site '{site}' has no webhook '{name}'")
    listing = services().store.deliveries.list(site, name, limit, call.query("cursor"))
    if not listing.items and call.query("cursor") is None:
        _webhook(site, name)  # none yet, or no such webhook (a 404)
    return json_response(_page(listing.items, listing.next_cursor))


@app.route("/sites/{site}/webhooks/{name}/test", methods=["POST"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={202: "TrialQueued"}, errors=(404, 409))
def test_webhook(call: Call, site: str, name: str) -> Response:
    """Sends the webhook a `webhook.test` event, signed and retried as any other; its
    attempts show in the webhook's deliveries."""
    from chalicelib import events

    webhook = _webhook(site, name)
    if not webhook.enabled:
        raise Conflict(f"webhook '{name}' is disabled ({webhook.disabledReason}); PUT it again to enable it")
    message = events.trial_message(site, name, services().clock())
    services().deliveries.send([(message, 0)])
    from chalicelib.web.models import TrialQueued

    return json_response(TrialQueued(eventId=message.event_id, type=message.event_type), status=202)


def _webhook_path(site: str, name: str) -> None:
    if not is_site_slug(site):
        raise NotFound(f"no site '{site}'")
    if not is_webhook_name(name):
        raise BadRequest("a webhook name is 1 to 63 of a-z, 0-9 and '-', starting with a letter or digit")


def _webhook(site: str, name: str) -> Webhook:
    found = services().store.webhooks.get(site, name) if is_site_slug(site) and is_webhook_name(name) else None
    if found is None:
        raise NotFound(f"site '{site}' has no webhook '{name}'")
    return found[0]


@app.on_sqs_message(queue=WEBHOOK_QUEUE_NAME, batch_size=10)
def deliver_webhooks(event: SQSEvent) -> Dict[str, Any]:
    """Posts each queued delivery, signed, to its receiver, all of a batch at once; logs every
    attempt, and queues the next (backoff with jitter) or dead-letters after 24 hours."""
    return services().deliverer.deliver_bodies([record.body for record in event])


# --- operations: backups and the dead-letter queue -------------------------------------


@app.route("/admin/backups", methods=["GET"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={200: "BackupReport"}, errors=(400,), query=(LIMIT,))
def backup_report(call: Call) -> Response:
    """The latest backup check in full, and the recent ones, newest first."""
    history = services().store.checks.recent(call.query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE))
    report = upkeep.BackupReport(latest=history[0] if history else None, history=history)
    return json_response(report.model_dump(mode="json"))


@app.route("/admin/redrive", methods=["POST"], authorizer=token_authorizer)
@endpoint(app, log, scope="admin", answers={200: "RedriveResult"}, errors=(400,), query=(REDRIVE_LIMIT, REDRIVE_QUEUE))
def redrive_dead_letters(call: Call) -> Response:
    """Moves messages from a dead-letter queue back to its queue, after a fix: the write
    queue's, or (`queue=webhooks`) the webhook delivery queue's, whose deliveries get
    another 24 hours of retries."""
    limit = call.query_int("limit", MAX_REDRIVE, 1, MAX_REDRIVE)
    queue = call.query("queue") or "writes"
    if queue not in ("writes", "webhooks"):
        raise BadRequest("query parameter 'queue' is writes or webhooks")
    # It stops in time to answer before the function's timeout; `remaining` says what is left.
    return json_response(services().redrive(upkeep.time_left_in(app.lambda_context), queue).run(limit))


@app.schedule(Rate(BACKUP_CHECK_MINUTES, unit=Rate.MINUTES))
def check_backups(event: CloudWatchEvent) -> Dict[str, Any]:
    """Checks PITR, on-demand backups and the queues; records and logs the result."""
    s = services()
    result = upkeep.run_backup_check(
        s.backup_checker,
        lambda found: s.store.checks.record(found, timedelta(days=s.settings.backup_check_keep_days)),
        s.logger,
        s.settings.metrics_namespace,
        s.settings.stage,
    )
    return result.model_dump()


# --- the worker ------------------------------------------------------------------------


@app.on_sqs_message(queue=WRITE_QUEUE_NAME, batch_size=10)
def apply_writes(event: SQSEvent) -> Optional[Dict[str, Any]]:
    """Applies queued write operations, one resource at a time, each exactly once."""
    from chalicelib import writes

    s = services()
    records = [writes.QueueRecord.from_event(record.to_dict()) for record in event]
    outcome = s.worker.process(records)
    return writes.settle(outcome, s.queue, s.settings.worker_reports_batch_failures, s.logger)
