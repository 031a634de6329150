#!/usr/bin/env python3
"""Time the console's pages with many keys in one region (a benchmark, not a test).

It runs Django in-process on a database of its own (a temporary SQLite file, or DATABASE_URL),
creates --keys keys (a third with aliases, some External), signs in as Admin and prints the
median and 95th percentile of each page and its query count:

    .venv/bin/python scripts/bench_console.py --keys 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=10000, help="keys in the region (default 10000)")
    parser.add_argument("-n", type=int, default=20, help="requests per page (default 20)")
    args = parser.parse_args()

    data_dir = Path(os.environ.setdefault("CONSOLECLONE_DATA_DIR", tempfile.mkdtemp(prefix="bench-console-")))
    (data_dir / "staticfiles").mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from finders here
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consoleclone.settings")
    os.environ["KMS_WRAPPING_KEY_POOL"] = ""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from keys import clock, policy, states, vault
    from keys.management.commands.seed_demo import MAIN_ACCOUNT, seed
    from keys.models import Alias, Key

    call_command("migrate", verbosity=0)
    seed("bench-password")
    now = clock.now()
    policy_text = policy.render_aws_style(policy.default_api_key_policy(MAIN_ACCOUNT))
    sealed = vault.seal(b"\0" * 32, context="bench")
    existing = Key.objects.filter(account_id=MAIN_ACCOUNT, region="us-west-2").count()
    keys, aliases = [], []
    for i in range(max(0, args.keys - existing)):
        external = i % 4 == 0
        key = Key(
            key_id=str(uuid.uuid4()),
            account_id=MAIN_ACCOUNT,
            region="us-west-2",
            origin="EXTERNAL" if external else "AWS_KMS",
            state=states.PENDING_IMPORT if external else states.ENABLED,
            creation_date=now,
            policy=policy_text,
            sealed_material=None if external else sealed,
        )
        keys.append(key)
        if i % 3 == 0:
            key.list_alias = f"alias/bench-{i:06d}"
            aliases.append(
                Alias(account_id=MAIN_ACCOUNT, region="us-west-2", name=f"alias/bench-{i:06d}", target_key=key,
                      creation_date=now, last_updated_date=now)
            )  # fmt: skip
    Key.objects.bulk_create(keys, batch_size=2000)
    Alias.objects.bulk_create(aliases, batch_size=2000)
    total = Key.objects.filter(account_id=MAIN_ACCOUNT, region="us-west-2").count()

    client = Client()
    client.post("/signin/", {"account": MAIN_ACCOUNT, "user_name": "Admin", "password": "bench-password"})
    some_key = Key.objects.filter(account_id=MAIN_ACCOUNT, key_manager="CUSTOMER").first()
    last_page = -(-total // 50)
    pages = {
        "key list, page 1": "/iam/encryption-keys/?region=us-west-2",
        f"key list, page {last_page}": f"/iam/encryption-keys/?region=us-west-2&page={last_page}",
        "key list, filter 'bench-0001'": "/iam/encryption-keys/?region=us-west-2&filter=bench-0001",
        "key list, htmx table only": "/iam/encryption-keys/?region=us-west-2",
        "key details": f"/iam/encryption-keys/us-west-2/{some_key.key_id}/",
    }
    print(f"{total} keys in us-west-2 ({connection.vendor}); {args.n} requests per page\n")
    print(f"{'page':40} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for name, url in pages.items():
        headers = {"HTTP_HX_REQUEST": "true"} if "htmx" in name else {}
        samples = []
        for _ in range(args.n):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, **headers)
                samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
        print(f"{name:40} {statistics.median(samples):10.1f} {p95:8.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()
