"""API tokens: scopes, minting, and the check behind the built-in authorizer.

Tokens are stored only as SHA-256 hashes. The authorizer resolves a token to its scope
and passes it to the view in the request context; each route then demands its scope
(`chalicelib.web.endpoint`), so that a 403 carries the contract's error body and one
cached authorizer answer serves every route. A token nobody holds is denied by the
authorizer itself (API Gateway's answer, in the contract's body: `infra.gateway_responses`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Literal, Mapping, Optional

from chalicelib.core import DependencyUnavailable, Forbidden, Unauthorized, ids, isoformat, utc_now

if TYPE_CHECKING:
    # The routes demand scopes from app.py's import on; the token store loads with the first check.
    from chalicelib.store import Token, TokenStore

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
TOKEN_PREFIX = "mmt_"  # noqa: S105 (a prefix that makes leaked tokens easy to scan for)


def scope_covers(granted: str, needed: Scope) -> bool:
    """read < write < admin: a larger scope can do what a smaller one can."""
    return granted in SCOPES and SCOPES.index(granted) >= SCOPES.index(needed)


def token_id(token_hash: str) -> str:
    """The public name of a token: safe to log, list and revoke by."""
    return token_hash[:16]


@dataclass(frozen=True)
class Principal:
    """Who the authorizer found behind a bearer token; `scope` is empty when nobody."""

    token_id: str
    scope: str
    problem: str = ""
    # The token's name, for the audit trail.
    name: str = ""
    # Why the token could not be checked at all (see `unchecked`): the route answers 503.
    unavailable: str = ""

    def context(self) -> Dict[str, str]:
        found = {"tokenId": self.token_id, "scope": self.scope, "problem": self.problem, "name": self.name}
        return {**found, "unavailable": self.unavailable} if self.unavailable else found

    @classmethod
    def unchecked(cls, reason: str) -> Principal:
        """Nobody, because the tokens cannot be read, for a gateway that cannot answer an
        authorizer's failure itself (`chalice local`): every protected route answers 503
        with `reason`, and nothing is allowed."""
        return cls("", "", "the tokens could not be checked", unavailable=reason)

    @classmethod
    def from_context(cls, context: Mapping[str, object]) -> Principal:
        return cls(
            token_id=str(context.get("tokenId") or ""),
            scope=str(context.get("scope") or ""),
            # No context at all: no authorizer ran, so there was no token to check.
            problem=str(context.get("problem", "no bearer token")),
            name=str(context.get("name") or ""),
            unavailable=str(context.get("unavailable") or ""),
        )

    def demand(self, needed: Scope) -> str:
        """The actor name for a route that needs `needed`, or the 401/403/503 to answer."""
        if self.unavailable:
            raise DependencyUnavailable(self.unavailable)
        if not self.scope:
            raise Unauthorized(f"a valid bearer token is required: {self.problem or 'unknown token'}")
        if not scope_covers(self.scope, needed):
            raise Forbidden(f"this route needs the '{needed}' scope; the token has '{self.scope}'")
        return f"token:{self.token_id}"


def authenticate(authorization: str, tokens: TokenStore) -> Principal:
    """Who the token is; a principal with no scope (and the problem) when nobody.

    Raises DependencyUnavailable when the token table cannot be read: "cannot check now"
    is not an answer about the token, and must not be cached as one."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Principal("", "", "the Authorization header must be 'Bearer <token>'")
    stored = tokens.get(ids.token_hash(token.strip()))
    if stored is None:
        return Principal("", "", "unknown or revoked token")
    return Principal(stored.tokenId, stored.scope, name=stored.name)


def mint_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(
    tokens: TokenStore, name: str, scope: Scope, token: Optional[str] = None, actor: str = "operator"
) -> tuple[str, Token]:
    """Stores a token (a new random one unless given) and answers it with its record;
    the token itself is shown once and never stored."""
    from chalicelib.store import Token

    secret = token or mint_token()
    token_hash = ids.token_hash(secret)
    record = Token(tokenId=token_id(token_hash), name=name, scope=scope, createdAt=isoformat(utc_now()))
    tokens.put(token_hash, record, actor)
    return secret, record
