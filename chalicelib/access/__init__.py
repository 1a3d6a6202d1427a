"""Who may call: API tokens (minted, stored as hashes), their scopes, and the check
behind the authorizer (loaded with the first request that needs a token, PEP 562)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy_names

if TYPE_CHECKING:
    from chalicelib.access.tokens import SCOPES, Principal, Scope, authenticate, issue_token, scope_covers

__getattr__ = lazy_names(
    __name__, dict.fromkeys(("SCOPES", "Principal", "Scope", "authenticate", "issue_token", "scope_covers"), "tokens")
)

__all__ = ["SCOPES", "Principal", "Scope", "authenticate", "issue_token", "scope_covers"]
