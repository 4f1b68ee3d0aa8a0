"""Fixture for the file node tests: Boardrun storage on the local folder and on S3 through moto."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from boardrun.storage import storage_from_url


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, monkeypatch):
    """The same tests run on a local folder and on an S3 bucket (moto), as the server uses them."""
    if request.param == "local":
        yield storage_from_url(f"file://{tmp_path / 'store'}")
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="boards")
        yield storage_from_url("s3://boards/prefix")
