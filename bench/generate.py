"""Make (or keep) the benchmark dataset in the database DATABASE_URL names.

python -m bench.generate --referrals 1000000
"""

from __future__ import annotations

import argparse

import django


def main() -> None:
    django.setup()
    from django.db import connection

    from bench.dataset import MARKER, SEED, dataset_marker, generate

    parser = argparse.ArgumentParser()
    parser.add_argument("--referrals", type=int, required=True)
    args = parser.parse_args()
    spec = f"referrals={args.referrals} seed={SEED} v2"
    if dataset_marker() == spec:
        print(f"dataset cached: {spec}")
        return
    counts = generate(args.referrals)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {MARKER}")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [spec])
    print(f"dataset made: {counts}")


if __name__ == "__main__":
    main()
