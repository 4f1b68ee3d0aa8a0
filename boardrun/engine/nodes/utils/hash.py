"""Utils/Hash: hashes of a value's JSON text (serde_json's compact form, object keys in their order)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ...coerce import as_bool, as_int
from ...jsontext import dumps_bytes
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("utils_hash_blake3", "Blake3 Hash", "Utils/Hash", "BLAKE3 digest of a value's JSON text, as hex.",
          [inp("exec_in", "Execute", "Execution", description="Hash."),
           inp("input", "Input", "Generic", description="Any JSON value."),
           out("exec_out", "Done", "Execution", description="Fires after hashing."),
           out("hash", "Hash (hex)", "String", description="64 lower-case hex digits.")])
def utils_hash_blake3(ctx: NodeContext) -> None:
    import blake3  # compiled extension: loaded only by boards that hash

    ctx.deactivate("exec_out")
    ctx.set("hash", blake3.blake3(dumps_bytes(ctx.get("input"))).hexdigest())
    ctx.activate("exec_out")


@register("utils_hash_ahash", "AHash", "Utils/Hash",
          "Fast 64-bit keyed hash of a value's JSON text; the same seed gives the same hash.",
          [inp("exec_in", "Execute", "Execution", description="Hash."),
           inp("input", "Input", "Generic", description="Any JSON value."),
           inp("consistent", "Consistent", "Boolean", default=True,
               description="Key the hash with the seed (repeatable); off uses a fresh random key."),
           inp("seed", "Seed", "Integer", default=1234, description="The key when consistent."),
           out("exec_out", "Done", "Execution", description="Fires after hashing."),
           out("hash", "Hash", "Integer", description="An unsigned 64-bit hash.")])
def utils_hash_ahash(ctx: NodeContext) -> None:
    import hashlib  # its OpenSSL binding is slow to load; only hashing boards need it

    ctx.deactivate("exec_out")
    data = dumps_bytes(ctx.get("input"))
    consistent = as_bool(ctx.get("consistent"), "consistent")
    seed = as_int(ctx.get("seed"), "seed")
    # aHash itself is not portable (its output depends on the CPU and the crate version), so no
    # implementation can match Flow-Like's numbers; keyed BLAKE2b gives the same guarantees.
    key = (seed % 2**64).to_bytes(8, "little") if consistent else os.urandom(16)
    digest = hashlib.blake2b(data, digest_size=8, key=key).digest()
    ctx.set("hash", int.from_bytes(digest, "little"))
    ctx.activate("exec_out")
