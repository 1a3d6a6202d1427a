"""Who may call: API tokens (minted, stored as hashes), their scopes, and the check
behind the authorizer."""

from chalicelib.access.tokens import SCOPES, Principal, Scope, authenticate, issue_token, scope_covers

__all__ = ["SCOPES", "Principal", "Scope", "authenticate", "issue_token", "scope_covers"]
