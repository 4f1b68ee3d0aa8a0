"""Storage in an S3 bucket through boto3 (AWS S3, MinIO, R2: set S3_ENDPOINT_URL)."""

from __future__ import annotations

from boardrun.storage.base import Storage, StorageError, StorageNotFound, check_key


class S3Storage(Storage):
    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None, client=None):
        if not bucket:
            raise StorageError("S3 storage needs a bucket: s3://bucket[/prefix]")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}),
            )
        self.client = client

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _unkey(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def _call(self, fn, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise StorageNotFound(kwargs.get("Key", "")) from None
            raise StorageError(f"S3 {code or 'error'}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 unreachable: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._call(self.client.put_object, Key=self._key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return self._call(self.client.get_object, Key=self._key(key))["Body"].read()

    def size(self, key: str) -> int:
        return int(self._call(self.client.head_object, Key=self._key(key))["ContentLength"])

    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, Key=self._key(key))

    def _list_full(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token = None
        while True:
            kwargs = {"Prefix": self._key(prefix) + "/"}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(self.client.list_objects_v2, **kwargs)
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def list(self, prefix: str) -> list[str]:
        return sorted(self._unkey(k) for k in self._list_full(prefix))

    def delete_prefix(self, prefix: str) -> int:
        keys = self._list_full(prefix)
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self._call(self.client.delete_objects, Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    def check(self) -> None:
        self._call(self.client.head_bucket)
