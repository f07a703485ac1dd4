"""Benchmark `mnp audit`: API calls and time for 10 / 100 / 1,000 job definitions against the emulator.

The emulator is moto's server (the engine of mnp_local's emulated AWS) on 127.0.0.1, in this process, with
the moto gaps the audit meets filled as the tests fill them (tests/helpers/moto_audit.py): above all,
Batch ``Describe*`` answer in pages of 100 as AWS does, so the call counts are those an account would see.
Each size gets a fresh account: the compliant environment of the audit tests (one compute environment,
queue, launch template, subnet, security group, placement group) and that many multinode job definitions;
the audit then runs through ``AWS_ENDPOINT_URL`` over HTTP, as against AWS.

Calls are counted with botocore's ``before-call`` event (one per API call); time is the median of
``--repeat`` audits, split into reading the account and converting + checking it (nothing printed).
Numbers are reported, not enforced.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIZES = (10, 100, 1000)


def _environment(endpoint: str) -> None:
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )


def _account(job_definitions: int) -> None:
    from tests.mnp_toolkit.ops import audit_accounts as accounts

    accounts.build_compliant()  # one multinode job definition ("mpi")
    _, batch, _ = accounts.clients()
    for number in range(job_definitions - 1):
        accounts.register_job_definition(batch, f"job-{number:04d}")


def _audit_once() -> tuple[Counter[str], float, float, int]:
    """One audit: the calls it made, seconds reading the account, seconds converting and checking it."""
    import boto3

    from mnp_toolkit.lint.engine import lint_template
    from mnp_toolkit.lint.packs import mnp_pack
    from mnp_toolkit.lint.template import Template
    from mnp_toolkit.ops.audit.model import build_template
    from mnp_toolkit.ops.audit.read import make_audit_clients, read_account

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    session = boto3.Session()
    session.events.register("before-call", count)
    start = time.perf_counter()
    live = read_account(make_audit_clients(session=session))
    read = time.perf_counter()
    findings = lint_template(Template(build_template(live), path="bench"), mnp_pack().rules)
    checked = time.perf_counter()
    if findings:
        raise SystemExit(f"expected a clean audit, got {len(findings)} findings: {findings[:3]}")
    return calls, read - start, checked - read, len(live.job_definitions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import logging

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from tests.helpers.moto_audit import audit_gaps_filled

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    _environment(endpoint)
    rows = []
    try:
        with audit_gaps_filled():
            from moto.core.config import default_user_config

            default_user_config["batch"]["use_docker"] = False
            for size in args.sizes:
                urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
                _account(size)
                runs = [_audit_once() for _ in range(args.repeat)]
                calls, _, _, audited = runs[0]
                reading = statistics.median(run[1] for run in runs)
                checking = statistics.median(run[2] for run in runs)
                rows.append((size, audited, sum(calls.values()), calls["DescribeJobDefinitions"], reading, checking))
    finally:
        server.stop()

    print("| Job definitions | API calls | DescribeJobDefinitions calls | Reading (s) | Converting + checking (s) |")
    print("|---:|---:|---:|---:|---:|")
    for size, audited, total, pages, reading, checking in rows:
        assert audited == size
        print(f"| {size:,} | {total} | {pages} | {reading:.2f} | {checking:.3f} |")
    print()
    print(
        "Calls: one STS call, one page of 100 per Batch describe, one DescribeLaunchTemplateVersions per launch "
        "template and one call per 100 EC2 ids: only DescribeJobDefinitions grows here, one call per 100 job "
        f"definitions. Times: medians of {args.repeat} audits; reading is moto's server answering over HTTP (its "
        "Batch describes serialize every job definition for each page), converting and checking is the rule pack."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
