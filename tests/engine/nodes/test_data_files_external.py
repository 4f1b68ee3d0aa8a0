"""Data/Files/External: Azure Blob and Google Cloud Storage stores, against real emulators on 127.0.0.1.

Azurite (npm) serves Azure Blob, gcp-storage-emulator (PyPI) serves GCS. The file nodes write,
copy, list, read and delete through the stores a board opens; bad keys, missing containers and
buckets, unreachable or private endpoints fail the node without showing the credentials.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from boardrun.engine.files import FilesConfig, FileServices
from boardrun.engine.http_egress import EgressPolicy
from boardrun.testing.boards import BoardBuilder

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # Azurite's public well-known key
REPO = Path(__file__).resolve().parents[3]
LOCAL_EGRESS = EgressPolicy(allow_private=True, timeout_seconds=10.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(argv: list[str], port: int, log: Path):
    """Start an emulator and wait until it accepts connections (it fails the test if it exits)."""
    process = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{argv[0]} exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)  # a port has no event to await
    process.kill()
    pytest.fail(f"{argv[0]} did not listen on {port}: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    """Azurite's blob service; from PATH or the copy `.ci/run` installs under .cache/azurite."""
    binary = shutil.which("azurite-blob") or REPO / ".cache/azurite/node_modules/.bin/azurite-blob"
    if not Path(binary).exists():
        pytest.skip("Azurite is not installed (run .ci/run, or npm install --prefix .cache/azurite azurite)")
    folder, port = tmp_path_factory.mktemp("azurite"), _free_port()
    process = _serve([str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(folder),
                      "--skipApiVersionCheck", "--silent"], port, folder / "log")
    yield f"http://127.0.0.1:{port}/{{account}}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    folder, port = tmp_path_factory.mktemp("gcs"), _free_port()
    emulator = Path(sys.executable).with_name("gcp-storage-emulator")
    process = _serve([str(emulator), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory",
                      "--default-bucket", "external", "--quiet"], port, folder / "log")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture
def container(azurite):
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite.format(account=AZURITE_ACCOUNT), credential=AZURITE_KEY)
    client = service.get_container_client("external")
    if not client.exists():
        client.create_container()
    for name in list(client.list_blob_names()):
        client.delete_blob(name)
    return client


@pytest.fixture(scope="module")
def service_account_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "project_id": "test", "private_key_id": "1", "private_key": pem,
                       "client_email": "board@test.iam.gserviceaccount.com",
                       "token_uri": "https://oauth2.googleapis.com/token"})


@pytest.fixture
def bucket(gcs):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": gcs})
    found = client.bucket("external")
    for blob in list(client.list_blobs(found)):
        blob.delete()
    return found


def run_in_store(files, node, settings, steps, output=None, egress=LOCAL_EGRESS):
    """Open the store, then run each (node, {pin: name}, inputs) with the names as paths inside the store."""
    b = BoardBuilder()
    start = b.add("events_simple")
    store = b.add(node, **settings)
    ids = []
    for name, paths, inputs in steps:
        op = b.add(name, **inputs)
        for pin, child_name in paths.items():
            child = b.add("child", child_name=child_name)
            b.connect(store, "path", child, "parent_path")
            b.connect(child, "path", op, pin)
        ids.append(op)
    ret = b.add("events_generic_return_result", response=None)
    b.chain(start, store, *ids, ret)
    if output is not None:
        b.connect(ids[output[0]], output[1], ret, "response")
    return b.run(start, files=files, egress=egress)


STEPS = [("write_string", {"path": "a/x.txt"}, {"content": "x"}),
         ("storage_copy", {"from": "a/x.txt", "to": "a/y.txt"}, {}),
         ("write_string", {"path": "a/z.txt"}, {"content": "z"}),
         ("storage_delete", {"path": "a/z.txt"}, {}),
         ("storage_delete", {"path": "nothing.txt"}, {}),
         ("path_list_paths", {"prefix": "a"}, {})]
READ = [("read_to_string", {"path": "a/y.txt"}, {})]


def ok(result):
    assert result.status == "completed", result
    return result.result


def fails(result, *texts, secret=None):
    assert (result.status, result.reason) == ("failed", "node_error"), result
    for text in texts:
        assert text in result.error["message"], result.error
    if secret:
        assert secret not in json.dumps(result.error), result.error


def files_for(tmp_path, allow=True, **urls):
    return FileServices.local(tmp_path, "app1", "user1", FilesConfig(allow_external_s3=allow, **urls))


def azure_settings(**inputs):
    return {"account": AZURITE_ACCOUNT, "container": "external", "access_key": AZURITE_KEY, "prefix": "/team/", **inputs}


def listed(result):
    return [path["path"] for path in ok(result)]


@pytest.mark.parametrize("credential", ["access_key", "sas_token"])
def test_azure_blob_store_reads_writes_lists_and_deletes(container, azurite, tmp_path, credential):
    """With an access key or a SAS token, the file nodes work in the container, under the prefix."""
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    files = files_for(tmp_path, azure_blob_url=azurite)
    inputs = azure_settings()
    if credential == "sas_token":
        sas = generate_container_sas(AZURITE_ACCOUNT, "external", account_key=AZURITE_KEY,
                                     permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
                                     expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        inputs = azure_settings(access_key="", sas_token="?" + sas)
    assert listed(run_in_store(files, "external_azure_blob_store", inputs, STEPS, (5, "paths"))) == ["a/x.txt", "a/y.txt"]
    assert sorted(container.list_blob_names()) == ["team/a/x.txt", "team/a/y.txt"]
    assert ok(run_in_store(files, "external_azure_blob_store", inputs, READ, (0, "content"))) == "x"


@pytest.mark.parametrize("inputs,texts", [
    ({"access_key": "d3Jvbmc="}, ["refused the request (AuthorizationFailure)"]),
    ({"container": "missing"}, ["container 'missing' does not exist"]),
    ({"sas_token": "sv=1"}, ["exactly one of access_key and sas_token"]),
    ({"access_key": ""}, ["exactly one of access_key and sas_token"]),
    ({"account": "evil.example.com/x"}, ["storage account name"]),
    ({"container": ""}, ["'container' is empty"]),
    ({"prefix": "a/../../b"}, ["may not leave its folder"]),
])
def test_azure_blob_store_bad_input(container, azurite, tmp_path, inputs, texts):
    """Wrong keys, missing containers and bad names fail the node, and the key never shows."""
    files = files_for(tmp_path, azure_blob_url=azurite)
    fails(run_in_store(files, "external_azure_blob_store", azure_settings(**inputs), READ), *texts, secret=AZURITE_KEY)


def test_external_stores_need_the_switch_and_egress(tmp_path, service_account_key):
    """Off by default; a private endpoint needs ENGINE_HTTP_ALLOW_PRIVATE; a dead one is 'unreachable'."""
    dead = f"http://127.0.0.1:{_free_port()}"
    gcs_inputs = {"bucket": "external", "service_account_key": service_account_key}
    for node, inputs in (("external_azure_blob_store", azure_settings()), ("external_gcp_storage_store", gcs_inputs)):
        fails(run_in_store(files_for(tmp_path, allow=False), node, inputs, READ), "ENGINE_FILES_ALLOW_EXTERNAL_S3")
        private = files_for(tmp_path, azure_blob_url=dead + "/{account}", gcs_url=dead)
        fails(run_in_store(private, node, inputs, READ, egress=EgressPolicy()), "egress refused")
        fails(run_in_store(private, node, inputs, READ), "unreachable", secret=AZURITE_KEY)


def test_gcs_store_reads_writes_lists_and_deletes(bucket, gcs, tmp_path, service_account_key):
    """With a service account key, the file nodes work in the bucket, under the prefix."""
    files = files_for(tmp_path, gcs_url=gcs)
    inputs = {"bucket": "external", "service_account_key": service_account_key, "prefix": "team"}
    assert listed(run_in_store(files, "external_gcp_storage_store", inputs, STEPS, (5, "paths"))) == ["a/x.txt", "a/y.txt"]
    assert sorted(blob.name for blob in bucket.client.list_blobs(bucket)) == ["team/a/x.txt", "team/a/y.txt"]
    assert ok(run_in_store(files, "external_gcp_storage_store", inputs, READ, (0, "content"))) == "x"


@pytest.mark.parametrize("inputs,texts", [
    ({"bucket": "missing"}, ["bucket 'missing' does not exist"]),
    ({"service_account_key": ""}, ["must be a service account's JSON key file"]),
    ({"service_account_key": "{not json"}, ["must be a service account's JSON key file"]),
    ({"service_account_key": json.dumps({"type": "service_account"})}, ["not a usable service account key"]),
    ({"bucket": ""}, ["'bucket' is empty"]),
])
def test_gcs_store_bad_input(bucket, gcs, tmp_path, service_account_key, inputs, texts):
    """A missing bucket or an unusable key fails the node, and the private key never shows."""
    files = files_for(tmp_path, gcs_url=gcs)
    settings = {"bucket": "external", "service_account_key": service_account_key, **inputs}
    private_key = json.loads(service_account_key)["private_key"].splitlines()[5]
    fails(run_in_store(files, "external_gcp_storage_store", settings, READ), *texts, secret=private_key)
