"""Deliveries are signed so that a Standard Webhooks receiver verifies them: with the
reference library, with either secret while one is rotated, and not with any other."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from chalicelib.core import utc_now
from chalicelib.events.sealing import SECRET_PREFIX, new_secret
from chalicelib.events.signing import signature_headers

BODY = json.dumps({"id": "op.00", "type": "page.published", "site": "shop"})


def test_a_receiver_verifies_a_delivery_with_its_secret() -> None:
    secret = new_secret()
    headers = signature_headers([secret], "op.00", utc_now(), BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "op.00"


def test_secrets_are_random_256_bit_and_prefixed() -> None:
    secret = new_secret()
    assert secret.startswith(SECRET_PREFIX)
    assert new_secret() != secret
    assert len(secret) == len(SECRET_PREFIX) + 44


def test_while_a_secret_is_rotated_both_sign_and_either_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = signature_headers([new, old], "op.01", utc_now(), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_a_changed_body_or_id_does_not_verify() -> None:
    secret = new_secret()
    headers = signature_headers([secret], "op.00", utc_now(), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("shop", "shoq"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "op.01"})


def test_no_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        signature_headers([], "op.00", utc_now(), BODY)
