"""Test support for the KMS JSON API: requests signed by botocore's own SigV4 signer, sent through Django's client."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import time_machine
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.test import Client

from keys.services import directory

CONTENT_TYPE = "application/x-amz-json-1.1"
HOST = "testserver"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sign(
    body: bytes,
    *,
    target: str,
    access_key_id: str,
    secret: str,
    region: str = "us-west-2",
    service: str = "kms",
    when: dt.datetime | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> dict[str, str]:
    """The headers botocore would send for this body (signed at `when`, default now)."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": target, **(headers or {})},
    )
    signer = SigV4Auth(Credentials(access_key_id, secret, token), service, region)
    if when is None:
        signer.add_auth(request)
    else:
        with time_machine.travel(when, tick=False):
            signer.add_auth(request)
    return dict(request.headers.items())


def as_meta(headers: dict[str, str]) -> dict[str, str]:
    """HTTP headers as Django test client keyword arguments (Content-Type is passed separately)."""
    meta = {}
    for name, value in headers.items():
        if name.lower() in ("content-type", "content-length"):
            continue
        meta["HTTP_" + name.upper().replace("-", "_")] = value
    meta.setdefault("HTTP_HOST", HOST)
    return meta


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def error_type(self) -> str | None:
        return self.body.get("__type")


class KmsApi:
    """A signed KMS client over Django's test client: `api.call("Encrypt", KeyId=..., Plaintext=b64(...))`."""

    def __init__(self, access_key_id: str, secret: str, *, region: str = "us-west-2", client: Client | None = None):
        self.access_key_id = access_key_id
        self.secret = secret
        self.region = region
        self.client = client or Client()

    @classmethod
    def for_principal(cls, principal, **kwargs) -> KmsApi:
        access_key = principal.access_keys.filter(status="Active").order_by("created").first()
        if access_key is None:
            access_key, secret = directory.create_access_key(principal)
        else:
            secret = directory.access_key_secret(access_key)
        return cls(access_key.access_key_id, secret, **kwargs)

    def send(
        self,
        target: str,
        body: bytes,
        *,
        content_type: str = CONTENT_TYPE,
        headers: dict[str, str] | None = None,
        **sign_options: Any,
    ):
        signed = sign(
            body,
            target=target,
            access_key_id=sign_options.pop("access_key_id", self.access_key_id),
            secret=sign_options.pop("secret", self.secret),
            region=sign_options.pop("region", self.region),
            headers={"Content-Type": content_type, **(headers or {})},
            **sign_options,
        )
        # CONTENT_TYPE explicitly: Django's test client drops it when the body is empty.
        meta = {"CONTENT_TYPE": content_type, **as_meta(signed)}
        return self.client.generic("POST", "/", body, content_type=content_type, **meta)

    def call(self, operation: str, **members: Any) -> Answer:
        response = self.send(f"TrentService.{operation}", json.dumps(members).encode())
        return answer(response)


def answer(response) -> Answer:
    body = json.loads(response.content) if response.content else {}
    return Answer(status=response.status_code, body=body, headers=dict(response.headers))


def import_material(
    actor,
    key_id: str,
    material: bytes,
    *,
    expiration_model: str = "KEY_MATERIAL_DOES_NOT_EXPIRE",
    valid_to: dt.datetime | None = None,
):
    """Import `material` into an EXTERNAL key through the services, as a trainee would with openssl."""
    from keys import crypto
    from keys.services import importing

    params = importing.get_parameters_for_import(
        actor, key_id=key_id, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
    )
    wrapped = crypto.wrap_key_material(bytes(params.public_key_der), "RSAES_OAEP_SHA_256", material)
    return importing.import_key_material(
        actor,
        key_id=key_id,
        import_token=importing.import_token(params),
        encrypted_key_material=wrapped,
        expiration_model=expiration_model,
        valid_to=valid_to,
    )
