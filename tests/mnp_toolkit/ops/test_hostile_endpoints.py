"""The operations commands against faults and hostile input: one line and exit 2, in bounded time.

Backends: a loopback socket that accepts connections and never answers (an endpoint that hangs), a
loopback HTTP server that answers HTTP 200 with something other than AWS's answer (a captive portal, a
proxy page, JSON of the wrong shape), botocore's Stubber for a job whose reason carries terminal escapes,
and botocore itself for the Region variables. AWS_ENDPOINT_URL points every client at the local server.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mnp_toolkit.cli.main import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops import aws
from mnp_toolkit.ops.aws import MAX_UNANSWERED_ATTEMPTS, aws_errors, make_client, make_session
from mnp_toolkit.ops.status import MAX_INTERVAL_SECONDS, fetch_job_status, render_text, run_status, watch_job

REPO = Path(__file__).resolve().parents[3]


def run_cli(argv: list[str]) -> int:
    """`mnp ARGV` in-process; a usage error's SystemExit becomes its code."""
    try:
        return cli_main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


# ------------------------------------------------------------------------------------- --interval


@pytest.mark.parametrize("interval", ["inf", "1e300", "-inf", "nan", "3601", "0.5"])
@pytest.mark.parametrize(
    "command", [["status", "job-1", "--watch"], ["submit", "--queue", "q", "--job-definition", "d", "--wait"]]
)
def test_an_interval_out_of_bounds_is_a_usage_error(
    command: list[str], interval: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No AWS: `inf` and `1e300` used to reach time.sleep and raise OverflowError."""
    code = run_cli([*command, f"--interval={interval}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"the interval must be 1 to {MAX_INTERVAL_SECONDS:g} seconds" in err
    assert "Traceback" not in err and "OverflowError" not in err


@pytest.mark.parametrize("interval", [float("inf"), 1e300, float("nan"), 0.0])
def test_watch_job_refuses_an_unbounded_interval(interval: float) -> None:
    """The ops layer checks too (it is an API): no OverflowError from time.sleep, and no AWS call."""
    with pytest.raises(UserError, match="the interval must be 1 to 3600 seconds"):
        watch_job(object(), job_id="job-1", interval=interval, on_update=lambda _status: None)


# ------------------------------------------------------------------------------------- the Region


def _no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)


@pytest.mark.parametrize(
    ("environment", "flag", "expected"),
    [
        ({"AWS_REGION": "eu-west-1"}, None, "eu-west-1"),  # botocore 1.44.5 alone would find no Region
        ({"AWS_DEFAULT_REGION": "eu-west-2"}, None, "eu-west-2"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, None, "eu-west-1"),  # as the SDKs do
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, "ap-south-1", "ap-south-1"),
        ({"AWS_REGION": "  ", "AWS_DEFAULT_REGION": "eu-west-2"}, None, "eu-west-2"),
    ],
)
def test_both_region_variables_work(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], flag: str | None, expected: str
) -> None:
    _no_region(monkeypatch)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert make_client("batch", region=flag).meta.region_name == expected
    assert make_session(region=flag).region_name == expected


def test_aws_region_beats_the_profiles_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_region(monkeypatch)
    (tmp_path / "config").write_text(
        "[profile dev]\nregion = us-west-2\naws_access_key_id = a\naws_secret_access_key = b\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert make_client("batch", profile="dev").meta.region_name == "eu-central-1"


def test_no_region_advice_names_what_works(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _no_region(monkeypatch)
    assert run_cli(["status", "job-1"]) == 2
    err = capsys.readouterr().err
    assert "no AWS Region configured: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION)" in err
    assert err.count("\n") == 1


# ----------------------------------------------------------------------- an endpoint that never answers


class SilentEndpoint:
    """A loopback listener that accepts every connection, reads nothing and never answers."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)  # so that close() stops the accept loop promptly
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentEndpoint]:
    """The silent endpoint for every client, with short timeouts (the attempts are what is asserted)."""
    endpoint = SilentEndpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    monkeypatch.setattr(aws, "READ_TIMEOUT_S", 0.3)
    monkeypatch.setattr(aws, "CONNECT_TIMEOUT_S", 0.3)
    yield endpoint
    endpoint.close()


def test_status_says_what_it_waits_for_and_gives_up(silent: SilentEndpoint, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 8 attempts of 60 s in silence (485 s). Now: a line per retry, then one error, after
    MAX_UNANSWERED_ATTEMPTS attempts although throttling may use 8."""
    code = run_cli(["status", "job-1"])
    lines = capsys.readouterr().err.splitlines()
    url = f"{silent.url}/v1/describejobs"
    assert code == 2
    assert lines == [
        f"mnp status: no answer from {url} (batch DescribeJobs) within 0.3 s; trying again (attempt 2 of at most 3)",
        f"mnp status: no answer from {url} (batch DescribeJobs) within 0.3 s; trying again (attempt 3 of at most 3)",
        f"mnp status: could not describe job job-1: no answer from {url} (batch DescribeJobs) within 0.3 s "
        "(3 attempts): check the network, --region, and AWS_ENDPOINT_URL if it is set (a proxy in HTTPS_PROXY "
        "must let the call through)",
    ]
    assert len(silent.accepted) == MAX_UNANSWERED_ATTEMPTS == 3


def test_one_attempt_when_aws_max_attempts_says_so(
    silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert run_cli(["status", "job-1"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "within 0.3 s (1 attempt): check the network" in line
    assert len(silent.accepted) == 1


def test_submit_gives_up_on_a_silent_endpoint(silent: SilentEndpoint, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["submit", "--queue", "q", "--job-definition", "train"])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert lines[-1].startswith("mnp submit: could not look up job definition train: no answer from ")
    assert len(lines) == 3 and "trying again" in lines[0]


def test_preflight_stops_at_the_first_silent_call(silent: SilentEndpoint, capsys: pytest.CaptureFixture[str]) -> None:
    """One call's attempts, not every check's: the first (STS) already shows nothing can work."""
    code = run_cli(["preflight", "--config", str(REPO / "config" / "default.yaml")])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert lines[-1].startswith("mnp preflight: could not run preflight: no answer from ")
    assert "(sts GetCallerIdentity)" in lines[-1]
    assert len(silent.accepted) == 3


def test_a_refused_connection_is_bounded_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    assert run_cli(["status", "job-1"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert "cannot reach the AWS endpoint" in lines[-1] and "(3 attempts)" in lines[-1]


# ------------------------------------------------------------------- answers that are not AWS's


class _Answer(BaseHTTPRequestHandler):
    status = 200
    content_type = "text/html"
    body = b"<html><body>Please sign in to the guest network</body></html>"

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def answering(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Factory: a loopback HTTP server answering every request with (content type, body)."""
    servers: list[ThreadingHTTPServer] = []

    def start(content_type: str, body: bytes) -> None:
        handler = type("Handler", (_Answer,), {"content_type": content_type, "body": body})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (
            "text/html",
            _Answer.body,
            "the endpoint answered HTTP 200 (text/html) '<html><body>Please sign in to the guest network"
            "</body></html', not the JSON object of an AWS answer",
        ),
        ("application/json", b"", "the endpoint answered HTTP 200 (application/json) with an empty body"),
        ("application/json", b"[1, 2]", "not the JSON object of an AWS answer"),
        ("application/json", b"[" * 100_000, "not the JSON object of an AWS answer"),
        ("application/json", b'{"jobs": "x"}', "which is not a valid DescribeJobsResponse (AttributeError"),
        (
            "application/json",
            b'{"jobs": [{"jobId": "a", "createdAt": "x"}]}',
            "which is not a valid DescribeJobsResponse",
        ),
        ("application/json", b"{}", "the endpoint answered DescribeJobs without a list of jobs with ids"),
        ("application/json", b'{"jobs": [{"status": "RUNNING"}]}', "without a list of jobs with ids"),
    ],
)
def test_status_on_an_answer_that_is_not_aws_is_not_job_not_found(
    answering: Any, content_type: str, body: bytes, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answering(content_type, body)
    code = run_cli(["status", "job-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mnp status: could not describe job job-1: ")
    assert expected in err
    assert "something other than AWS answered; check AWS_ENDPOINT_URL" in err
    assert "not found" not in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_submit_on_an_html_answer(answering: Any, capsys: pytest.CaptureFixture[str]) -> None:
    answering("text/html", _Answer.body)
    code = run_cli(["submit", "--queue", "q", "--job-definition", "train"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mnp submit: could not look up job definition train: the endpoint answered HTTP 200")
    assert err.count("\n") == 1


def test_preflight_on_an_html_answer_stops_with_one_line(answering: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """STS and EC2 speak XML: an HTML page is valid XML, but not an AWS answer (its root is not *Response)."""
    answering("text/html", _Answer.body)
    code = run_cli(["preflight", "--config", str(REPO / "config" / "default.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mnp preflight: could not run preflight: the endpoint answered HTTP 200 (text/html)")
    assert "not the XML of an AWS answer" in err
    assert err.count("\n") == 1


def test_real_aws_xml_still_parses(answering: Any) -> None:
    """The XML check accepts the documented STS answer (root GetCallerIdentityResponse, with a namespace)."""
    answering(
        "text/xml",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<GetCallerIdentityResponse '
        b'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::'
        b"123456789012:user/a</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
        b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
    )
    assert make_client("sts").get_caller_identity()["Account"] == "123456789012"


# ---------------------------------------------------------------- values that would split the line


@pytest.mark.parametrize("job_id", ["abc\ndef", "abc\x1b[2Jdef", "abc def", "a\x00b", "x" * 300])
def test_a_job_id_that_cannot_be_one_is_one_line(job_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No AWS call is made (no endpoint is even configured to answer)."""
    code = run_cli(["status", job_id])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "\x1b" not in err and "\x00" not in err
    assert err.startswith("mnp status: JOB_ID ")


def test_surrounding_whitespace_of_a_job_id_is_still_forgiven(stubbed: Any, make_job: Any) -> None:
    """Stubber: `mnp status "$JOB "` describes JOB (the DescribeJobs request is checked by the stubber)."""
    client, stubber = stubbed("batch")
    stubber.add_response("describe_jobs", {"jobs": [make_job("job-1", status="RUNNING")]}, {"jobs": ["job-1"]})
    out = io.StringIO()
    assert run_status(client, job_id=" job-1\n", out=out) == 0
    assert out.getvalue().startswith("Job         job-1  (train)")


def test_a_reason_with_terminal_escapes_is_shown_escaped(stubbed: Any, make_job: Any) -> None:
    """Stubber: a TerminateJob reason is free text; it must not clear the screen or forge table lines."""
    client, stubber = stubbed("batch")
    reason = "stopped by ops\x1b[2J\nNODE  ROLE   STATUS  forged"
    stubber.add_response("describe_jobs", {"jobs": [make_job("job-1", status="FAILED", reason=reason)]})
    text = render_text(fetch_job_status(client, job_id="job-1"))
    assert "\x1b" not in text
    assert "Status      FAILED  stopped by ops\\x1b[2J NODE ROLE STATUS forged" in text.splitlines()


def test_an_action_with_a_newline_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """describe_aws_error escapes what came from the user (here in the action) and from AWS."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    client = make_client("batch")
    with pytest.raises(UserError) as caught, aws_errors(action="look up job definition a\nb", service="batch"):
        client.describe_jobs(jobs=["x"])
    assert "\n" not in str(caught.value)
    assert "could not look up job definition a\\nb: no AWS credentials found" in str(caught.value)
