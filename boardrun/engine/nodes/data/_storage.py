"""Where the database and SQL nodes find the app's data: a local folder, or the S3 bucket of Boardrun's storage.

LanceDB and DataFusion open storage themselves (they are Rust libraries with their own S3
clients), so they get the same endpoint, region and credentials as the boto3 client of Boardrun's
storage, and only URIs that the run's file services produced for the app's own folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ... import files as filesmod


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint: str | None
    region: str | None
    access_key: str | None
    secret_key: str | None
    token: str | None

    @property
    def allow_http(self) -> bool:
        return bool(self.endpoint and self.endpoint.startswith("http://"))

    def lance_options(self) -> dict[str, str]:
        """LanceDB's ``storage_options`` (object_store's names)."""
        options = {"aws_endpoint": self.endpoint, "aws_region": self.region, "aws_access_key_id": self.access_key,
                   "aws_secret_access_key": self.secret_key, "aws_session_token": self.token,
                   "allow_http": "true" if self.allow_http else None}
        return {k: v for k, v in options.items() if v}


def s3_settings(loc: filesmod.Location) -> S3Settings | None:
    """The S3 settings of ``loc``'s store, or None when it is a local folder."""
    backend = loc.backend
    if not isinstance(backend, filesmod._S3Backend):
        return None
    import boto3

    client: Any = backend.client
    # The storage's client was built from the default credential chain; a session reads the same chain.
    credentials = boto3.session.Session().get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    return S3Settings(
        bucket=backend.bucket,
        endpoint=client.meta.endpoint_url,
        region=client.meta.region_name,
        access_key=frozen.access_key if frozen else None,
        secret_key=frozen.secret_key if frozen else None,
        token=frozen.token if frozen else None,
    )
