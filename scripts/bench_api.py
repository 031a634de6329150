#!/usr/bin/env python3
"""Time each KMS API operation through boto3 against a running consoleclone server (a benchmark, not a test).

It starts nothing: run the server first (`make run`), then

    .venv/bin/python scripts/bench_api.py                       # 50 calls per operation
    .venv/bin/python scripts/bench_api.py -n 200 --only Encrypt,Decrypt
    .venv/bin/python scripts/bench_api.py --populate 10000 --only ListKeys,DescribeKey

It signs with a profile of an AWS CLI credentials file (default: the seed's var/demo-credentials,
profile admin), creates the keys it needs (and schedules them for deletion at the end unless
--keep), and prints the median and 95th percentile of each operation in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CREDENTIALS = Path(os.environ.get("CONSOLECLONE_DATA_DIR", ROOT / "var")) / "demo-credentials"
BENCH_TAG = {"TagKey": "purpose", "TagValue": "bench_api"}


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Bench:
    def __init__(self, client, *, repeat: int, only: set[str] | None):
        self.client = client
        self.repeat = repeat
        self.only = only
        self.results: dict[str, list[float]] = {}
        self.created: list[str] = []

    def wanted(self, name: str) -> bool:
        return self.only is None or name.split(" ")[0] in self.only

    def time(
        self, name: str, call: Callable[[int], object], *, repeat: int | None = None, warm_up: bool = True
    ) -> None:
        """Run call(i) `repeat` times (after one untimed warm-up call) and keep the durations in ms."""
        if not self.wanted(name):
            return
        count = repeat or self.repeat
        if warm_up:
            call(-1)
        samples = []
        for i in range(count):
            started = time.perf_counter()
            call(i)
            samples.append((time.perf_counter() - started) * 1000)
        self.results[name] = samples
        print(f"  {name:<40} done", file=sys.stderr)

    def pair(
        self, first: str, do_first: Callable[[int], object], second: str, do_second: Callable[[int], object]
    ) -> None:
        """Time two operations that undo each other (Disable/Enable, Schedule/Cancel), alternately."""
        if not (self.wanted(first) or self.wanted(second)):
            return
        do_first(-1)
        do_second(-1)
        samples: dict[str, list[float]] = {first: [], second: []}
        for i in range(self.repeat):
            for name, call in ((first, do_first), (second, do_second)):
                started = time.perf_counter()
                call(i)
                samples[name].append((time.perf_counter() - started) * 1000)
        for name, values in samples.items():
            if self.wanted(name):
                self.results[name] = values
        print(f"  {first + ' / ' + second:<40} done", file=sys.stderr)

    def new_key(self, **members) -> dict:
        meta = self.client.create_key(Tags=[BENCH_TAG], **members)["KeyMetadata"]
        self.created.append(meta["KeyId"])
        return meta

    def report(self) -> None:
        print()
        print(f"{'Operation':<40} {'N':>5} {'median ms':>10} {'p95 ms':>9} {'max ms':>9}")
        print("-" * 77)
        for name, samples in self.results.items():
            print(
                f"{name:<40} {len(samples):>5} {statistics.median(samples):>10.1f} "
                f"{percentile(samples, 0.95):>9.1f} {max(samples):>9.1f}"
            )


def wrap(public_key_der: bytes, material: bytes) -> bytes:
    public_key = serialization.load_der_public_key(public_key_der)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return public_key.encrypt(material, oaep)


def count_keys(client) -> int:
    return sum(
        len(page["Keys"]) for page in client.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1000})
    )


def populate(bench: Bench, total: int) -> None:
    """Create keys until the account has `total` keys in the region (they are kept: --populate is for scale)."""
    have = count_keys(bench.client)
    missing = max(0, total - have)
    print(f"Populating: {have} keys in the region, creating {missing} more", file=sys.stderr)
    started = time.perf_counter()
    for i in range(missing):
        bench.client.create_key(Description=f"bench_api population {i}", Tags=[BENCH_TAG])
        if i and i % 1000 == 0:
            print(f"  {i} created ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


def run(bench: Bench) -> None:
    client = bench.client
    key = bench.new_key(Description="bench_api main key")
    key_id = key["KeyId"]
    other = bench.new_key(Description="bench_api second key")
    alias = f"alias/bench-{uuid.uuid4().hex[:12]}"
    client.create_alias(AliasName=alias, TargetKeyId=key_id)
    context = {"bench": "api"}
    blob = client.encrypt(KeyId=key_id, Plaintext=b"x" * 64, EncryptionContext=context)["CiphertextBlob"]
    policy = client.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]

    bench.time("CreateKey", lambda i: bench.new_key(Description=f"bench_api create {i}"))
    bench.time("DescribeKey (key ID)", lambda i: client.describe_key(KeyId=key_id))
    bench.time("DescribeKey (alias)", lambda i: client.describe_key(KeyId=alias))
    bench.time("ListKeys (first page, Limit 100)", lambda i: client.list_keys(Limit=100))
    bench.time("ListKeys (all pages, Limit 1000)", lambda i: count_keys(client), repeat=max(3, bench.repeat // 10))
    bench.time("ListAliases", lambda i: client.list_aliases(Limit=50))
    bench.time("UpdateKeyDescription", lambda i: client.update_key_description(KeyId=key_id, Description=f"d{i}"))
    bench.pair(
        "DisableKey",
        lambda i: client.disable_key(KeyId=other["KeyId"]),
        "EnableKey",
        lambda i: client.enable_key(KeyId=other["KeyId"]),
    )
    bench.time("TagResource", lambda i: client.tag_resource(KeyId=key_id, Tags=[{"TagKey": "n", "TagValue": str(i)}]))
    bench.time("ListResourceTags", lambda i: client.list_resource_tags(KeyId=key_id))
    bench.time("UntagResource", lambda i: client.untag_resource(KeyId=key_id, TagKeys=["n"]))
    bench.time("GetKeyPolicy", lambda i: client.get_key_policy(KeyId=key_id, PolicyName="default"))
    bench.time("PutKeyPolicy", lambda i: client.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy))
    bench.time("ListKeyPolicies", lambda i: client.list_key_policies(KeyId=key_id))
    bench.pair(
        "CreateAlias",
        lambda i: client.create_alias(AliasName=f"{alias}-{i}", TargetKeyId=key_id),
        "DeleteAlias",
        lambda i: client.delete_alias(AliasName=f"{alias}-{i}"),
    )
    bench.time(
        "UpdateAlias",
        lambda i: client.update_alias(AliasName=alias, TargetKeyId=other["KeyId"] if i % 2 else key_id),
    )
    bench.time("Encrypt", lambda i: client.encrypt(KeyId=key_id, Plaintext=b"x" * 64, EncryptionContext=context))
    bench.time("Decrypt", lambda i: client.decrypt(CiphertextBlob=blob, EncryptionContext=context))
    bench.time(
        "ReEncrypt",
        lambda i: client.re_encrypt(
            CiphertextBlob=blob, SourceEncryptionContext=context, DestinationKeyId=other["KeyId"]
        ),
    )
    bench.time("GenerateDataKey", lambda i: client.generate_data_key(KeyId=key_id, KeySpec="AES_256"))
    bench.time(
        "GenerateDataKeyWithoutPlaintext",
        lambda i: client.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256"),
    )
    bench.time("GenerateRandom", lambda i: client.generate_random(NumberOfBytes=32))
    bench.time("GetKeyRotationStatus", lambda i: client.get_key_rotation_status(KeyId=key_id))
    bench.time("EnableKeyRotation", lambda i: client.enable_key_rotation(KeyId=key_id))
    bench.time("DisableKeyRotation", lambda i: client.disable_key_rotation(KeyId=key_id))
    bench.pair(
        "ScheduleKeyDeletion",
        lambda i: client.schedule_key_deletion(KeyId=other["KeyId"], PendingWindowInDays=7),
        "CancelKeyDeletion",
        lambda i: client.cancel_key_deletion(KeyId=other["KeyId"]),
    )
    import_path(bench)


def import_path(bench: Bench) -> None:
    """GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial on one EXTERNAL key."""
    if not any(bench.wanted(n) for n in ("GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial")):
        return
    client = bench.client
    external = bench.new_key(Origin="EXTERNAL", Description="bench_api external key")["KeyId"]
    material = secrets.token_bytes(32)
    params: list[dict] = []

    def get_parameters(i: int) -> None:
        params.append(
            client.get_parameters_for_import(
                KeyId=external, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
            )
        )

    bench.time("GetParametersForImport (RSA_2048)", get_parameters, warm_up=False)
    if not params:
        for i in range(bench.repeat):
            get_parameters(i)
    wrapped = [(p["ImportToken"], wrap(p["PublicKey"], material)) for p in params]
    samples_import: list[float] = []
    samples_delete: list[float] = []
    for token, blob in wrapped:
        started = time.perf_counter()
        client.import_key_material(
            KeyId=external, ImportToken=token, EncryptedKeyMaterial=blob, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"
        )
        samples_import.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        client.delete_imported_key_material(KeyId=external)
        samples_delete.append((time.perf_counter() - started) * 1000)
    if bench.wanted("ImportKeyMaterial"):
        bench.results["ImportKeyMaterial"] = samples_import
    if bench.wanted("DeleteImportedKeyMaterial"):
        bench.results["DeleteImportedKeyMaterial"] = samples_delete


def cleanup(bench: Bench) -> None:
    for key_id in bench.created:
        with contextlib.suppress(ClientError):  # already pending deletion
            bench.client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:8000")
    parser.add_argument("--profile", default="admin")
    parser.add_argument(
        "--credentials", default=os.environ.get("AWS_SHARED_CREDENTIALS_FILE", str(DEFAULT_CREDENTIALS))
    )
    parser.add_argument("--region", default="us-west-2")
    parser.add_argument("-n", "--repeat", type=int, default=50, help="timed calls per operation (default 50)")
    parser.add_argument("--only", help="comma-separated operation names, e.g. Encrypt,Decrypt,ListKeys")
    parser.add_argument("--populate", type=int, default=0, metavar="KEYS", help="first grow the account to KEYS keys")
    parser.add_argument("--keep", action="store_true", help="do not schedule the keys the benchmark made for deletion")
    args = parser.parse_args(argv)

    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = args.credentials
    os.environ.setdefault("AWS_CONFIG_FILE", os.devnull)
    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    client = session.client(
        "kms",
        endpoint_url=args.endpoint_url,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=4, tcp_keepalive=True),
    )
    only = {name.strip() for name in args.only.split(",")} if args.only else None
    bench = Bench(client, repeat=args.repeat, only=only)
    started = dt.datetime.now(dt.UTC)
    try:
        if args.populate:
            populate(bench, args.populate)
        run(bench)
    except (ClientError, BotoCoreError) as error:
        print(f"bench_api: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            cleanup(bench)
    keys = count_keys(client)
    print(f"\nconsoleclone KMS API benchmark: {args.endpoint_url}, profile {args.profile}, region {args.region}")
    print(f"{started:%Y-%m-%d %H:%M} UTC, {args.repeat} timed calls per operation, {keys} keys in the account's region")
    bench.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
