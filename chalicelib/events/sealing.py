"""Webhook signing secrets, sealed with AWS KMS: the API seals a new secret (and shows it
once), the table and the queue only ever hold the ciphertext, and the delivery function
opens it to sign. The site and the webhook's name are the encryption context, so a
ciphertext copied to another webhook does not open, and a leak of the table alone lets
nobody sign. Opened secrets are kept in memory per ciphertext, so a warm delivery
function calls KMS once per secret, not once per delivery."""

from __future__ import annotations

import base64
import binascii
import secrets as tokens
from typing import TYPE_CHECKING, Dict

from chalicelib.core import AWS_ERRORS, DependencyUnavailable, describe

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
# 256 bits; the specification takes 24 to 64 bytes.
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(tokens.token_bytes(SECRET_BYTES)).decode("ascii")


def context(site: str, webhook: str) -> Dict[str, str]:
    return {"site": site, "webhook": webhook}


class SecretSealer:
    def __init__(self, kms: KMSClient, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id
        self._opened: Dict[str, str] = {}

    def seal(self, secret: str, site: str, webhook: str) -> str:
        try:
            answer = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=secret.encode("ascii"), EncryptionContext=context(site, webhook)
            )
        except AWS_ERRORS as exc:
            raise DependencyUnavailable(
                f"the key that seals webhook secrets cannot be used now ({describe(exc)}); nothing was accepted, "
                "try again"
            ) from exc
        return base64.b64encode(answer["CiphertextBlob"]).decode("ascii")

    def open(self, sealed: str, site: str, webhook: str) -> str:
        cache_key = f"{site}/{webhook}/{sealed}"
        if cache_key not in self._opened:
            try:
                blob = base64.b64decode(sealed, validate=True)
                answer = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext=context(site, webhook))
            except binascii.Error as exc:
                raise DependencyUnavailable(f"a stored webhook secret is not base64 ({exc})") from exc
            except AWS_ERRORS as exc:
                raise DependencyUnavailable(f"the webhook's secret could not be opened ({describe(exc)})") from exc
            self._opened[cache_key] = answer["Plaintext"].decode("ascii")
        return self._opened[cache_key]
