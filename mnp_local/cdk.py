"""Run the real CDK CLI (pinned in package.json) against the local emulated AWS.

The CLI is run as ``node_modules/.bin/cdk``, the very program ``npx cdk`` runs, without npm's
start-up and without any chance of npx fetching a different version.

Every call gets :func:`mnp_local.server.aws_environment` (endpoint, the credentials of an account of
the emulated AWS -- 123456789012 in us-east-1 unless another :class:`~mnp_local.server.EmulatedAccount`
is given) and its own output directory, so concurrent synths in the same tree never share a ``cdk.out``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mnp_local.server import DEFAULT_ACCOUNT, EmulatedAccount, aws_environment

REPO_ROOT = Path(__file__).resolve().parent.parent


class CdkError(RuntimeError):
    """A CDK CLI command failed; the message holds the command and the end of its output."""


@dataclass(frozen=True)
class CdkRun:
    """One finished CDK CLI command."""

    args: tuple[str, ...]
    seconds: float
    output: str


def cdk_executable(*, project_dir: Path = REPO_ROOT) -> list[str]:
    """The project's pinned CDK CLI (what ``npx cdk`` runs in ``project_dir``)."""
    executable = project_dir / "node_modules" / ".bin" / "cdk"
    if not executable.exists():
        raise CdkError(
            f"the CDK CLI is not installed in {project_dir / 'node_modules'}: run `npm ci` in {project_dir} "
            "(package.json pins aws-cdk)"
        )
    if shutil.which("node") is None:
        raise CdkError("node (Node.js) is not on PATH: install Node.js 20 or newer")
    return [str(executable)]


def run_cdk(
    args: Sequence[str],
    *,
    endpoint: str,
    app_dir: Path,
    output_dir: Path,
    project_dir: Path = REPO_ROOT,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 900.0,
    account: EmulatedAccount = DEFAULT_ACCOUNT,
) -> CdkRun:
    """Run ``cdk <args> --output <output_dir>`` in ``app_dir`` (where its cdk.json is) as ``account``;
    raise on failure."""
    command = [*cdk_executable(project_dir=project_dir), *args, "--output", str(output_dir)]
    env = aws_environment(endpoint=endpoint, account=account)
    env.update(extra_env or {})
    start = time.monotonic()
    try:
        completed = subprocess.run(
            command,
            cwd=app_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise CdkError(f"`cdk {' '.join(args)}` did not finish within {timeout:g} s") from error
    seconds = time.monotonic() - start
    output = _without_node_banners(completed.stdout)
    if completed.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise CdkError(f"`cdk {' '.join(args)}` failed (exit {completed.returncode}) in {app_dir}:\n{tail}")
    return CdkRun(args=tuple(args), seconds=seconds, output=output)


def bootstrap(*, endpoint: str, work_dir: Path, account: EmulatedAccount = DEFAULT_ACCOUNT) -> CdkRun:
    """``cdk bootstrap aws://ACCOUNT/REGION`` of ``account`` (the modern bootstrap stack, CDKToolkit).

    Runs in ``work_dir`` (no cdk.json there): with an explicit environment the CLI needs no app, and
    in an app's directory it would synthesize the whole app first for nothing.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    return run_cdk(
        ["bootstrap", f"aws://{account.account_id}/{account.region}"],
        endpoint=endpoint,
        app_dir=work_dir,
        output_dir=work_dir / "cdk.out",
        account=account,
    )


def deploy(
    *,
    endpoint: str,
    app_dir: Path,
    output_dir: Path,
    context: Mapping[str, str] | None = None,
    stacks: Sequence[str] = (),
    account: EmulatedAccount = DEFAULT_ACCOUNT,
) -> CdkRun:
    """``cdk deploy --require-approval never`` of ``stacks`` (all stacks when empty) as ``account``."""
    args = ["deploy", "--require-approval", "never", *_context_args(context)]
    args += list(stacks) if stacks else ["--all"]
    return run_cdk(args, endpoint=endpoint, app_dir=app_dir, output_dir=output_dir, account=account)


def destroy(
    *, endpoint: str, assembly_dir: Path, stacks: Sequence[str] = (), account: EmulatedAccount = DEFAULT_ACCOUNT
) -> CdkRun:
    """``cdk destroy --force`` of ``stacks`` (all when empty) of an already synthesized assembly.

    ``--app <assembly_dir>`` (the output directory of the deploy) spares a second synthesis of the
    app; the stacks and their environments are the ones that were deployed.
    """
    args = ["destroy", "--app", str(assembly_dir), "--force"]
    args += list(stacks) if stacks else ["--all"]
    return run_cdk(args, endpoint=endpoint, app_dir=assembly_dir.parent, output_dir=assembly_dir, account=account)


def _context_args(context: Mapping[str, str] | None) -> list[str]:
    args: list[str] = []
    for key, value in (context or {}).items():
        args += ["--context", f"{key}={value}"]
    return args


def _without_node_banners(output: str) -> str:
    # jsii's and the AWS SDK's Node end-of-life banners are noise here (see verified-facts.md).
    kept = []
    for line in output.splitlines():
        if line.startswith("b'!!") or line.startswith('b"!!') or "NodeVersionSupportWarning" in line:
            continue
        kept.append(line)
    return "\n".join(kept)
