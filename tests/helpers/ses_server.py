"""Amazon SES on 127.0.0.1, for tests and benchmarks (no network needed): moto's SES in server mode
behind a thin proxy that adds what moto lacks.

moto keeps the messages (`GET /moto-api/data.json`, ["ses"]["RawMessage"]: id, source, destinations,
raw_data) and checks the sender identity. The proxy in front of it:
- checks each request's SigV4 signature with the test keys (moto accepts any key), answering as SES
  does (403 UnrecognizedClientException, SignatureDoesNotMatch);
- checks SendEmail bodies against SES's published model (tests/vendor/providers/ses/sesv2-service-2.json:
  shapes and required members) and the limits its documentation states (tag characters, 40 MB,
  1,000-character lines, a configuration set that exists);
- answers GetAccount (moto has none) with the quota set in `Behaviour`;
- injects faults: 429 TooManyRequestsException with SES's JSON body, the daily quota, 5xx, a
  connection dropped before or after moto took the message, an answer slower than the client's
  timeout, rejected addresses, latency.
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.helpers.local_server import LocalServer, QuietServer

ACCESS_KEY = "AKIANEWSLETTERTEST01"
SECRET_KEY = "newsletter-test-secret-for-the-local-ses-server"
REGION = "us-east-1"
SENDER = "editor@fixture.example.org"  # the fixture workspace's sender, verified at start
CONFIGURATION_SET = "newsletter-events"
FAULTS = ("429", "500", "503", "drop_before", "drop_after", "slow_after")
SEND_PATH = "/v2/email/outbound-emails"
ACCOUNT_PATH = "/v2/email/account"
MODEL = Path(__file__).resolve().parents[1] / "vendor" / "providers" / "ses" / "sesv2-service-2.json"
MAX_RAW_BYTES = 40 * 1024 * 1024  # SES v2: 40 MB, after base64
MAX_LINE = 1000  # characters per line of a raw message, CRLF included
TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")


@dataclass
class Behaviour:
    """What the server does besides answering correctly. Mutable between requests in a test."""

    fault_rate: float = 0.0  # share of SendEmail requests that meet one of `faults`
    faults: tuple[str, ...] = FAULTS
    forced: list[str] = field(default_factory=list)  # faults for the next SendEmail requests, in order ("quota" too)
    reject: set[str] = field(default_factory=set)  # recipients answered 400 MessageRejected naming them
    latency: float = 0.0  # seconds before answering every SendEmail request
    slow: float = 2.0  # seconds a "slow_after" answer takes (more than the client's timeout)
    max_send_rate: float = 50.0  # GetAccount's SendQuota.MaxSendRate
    sending_enabled: bool = True
    get_account: bool = True  # False: GetAccount goes to moto, which answers 404 as it does for real
    seed: int = 1


class SesServer(LocalServer):
    """Run with `with SesServer() as server:`; [ses] host = server.url, keys ACCESS_KEY and SECRET_KEY.

    `store=False` (the bench) keeps moto out of SendEmail: the proxy counts the recipients itself."""

    def __init__(self, behaviour: Behaviour | None = None, *, store: bool = True, validate_every: int = 1, moto: Any = None) -> None:
        """`moto`: a running moto server to use (reset here), e.g. one per test module (start_moto());
        by default one of its own, started and stopped with this one."""
        self.behaviour = behaviour or Behaviour()
        self.store = store
        self.validate_every = validate_every
        self.lock = threading.Lock()
        self.random = random.Random(self.behaviour.seed)
        self.model = json.loads(MODEL.read_text(encoding="utf-8"))["shapes"]
        self.requests = 0  # SendEmail requests received
        self.accepted = 0  # SendEmail requests moto took
        self.times: list[tuple[float, int]] = []  # (arrival time, status answered) of each SendEmail request
        self.bodies: list[dict[str, Any]] = []  # accepted SendEmail bodies, raw message decoded
        self.counted: Counter[str] = Counter()  # recipients taken (when moto is not storing them)
        self.own_moto = moto is None
        self.moto = moto or start_moto()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self

    @property
    def moto_address(self) -> tuple[str, int]:
        host, port = self.moto.get_host_and_port()
        return host, port

    def __enter__(self) -> SesServer:
        self._moto_call("POST", "/moto-api/reset")  # moto's backends live as long as the process
        self.start()
        self.client().create_email_identity(EmailIdentity=SENDER)  # SES sends only from a verified identity
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.own_moto:
            self.moto.stop()

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(retries={"total_max_attempts": 1})
        return boto3.client("sesv2", endpoint_url=self.url, region_name=REGION, aws_access_key_id=access_key, aws_secret_access_key=secret_key, config=config)

    # --- what was sent ---------------------------------------------------------------------------

    def raw_messages(self) -> list[dict[str, Any]]:
        """moto's record of each raw message it took: id, source, destinations, raw_data."""
        data = json.loads(self._moto_call("GET", "/moto-api/data.json"))
        return list(data.get("ses", {}).get("RawMessage", []))

    @property
    def delivered(self) -> Counter[str]:
        """Recipient address (lower case) -> copies SES took."""
        if not self.store:
            with self.lock:
                return Counter(self.counted)
        copies: Counter[str] = Counter()
        for message in self.raw_messages():
            for destination in message["destinations"]:
                copies[parseaddr(destination)[1].lower()] += 1
        return copies

    def took(self, body: dict[str, Any], raw: bytes, recipients: list[str]) -> None:
        """Count a SendEmail SES took (moto keeps the message itself, unless `store` is off)."""
        with self.lock:
            self.accepted += 1
            if not self.store:
                self.counted.update(recipients)
            elif len(self.bodies) < 10_000:
                self.bodies.append({**body, "Content": {"Raw": {"Data": raw.decode("utf-8", "replace")}}})

    def account(self) -> dict[str, Any]:
        """GetAccount's answer, as SES gives it for a production account."""
        return {
            "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY", "ProductionAccessEnabled": True,
            "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": self.behaviour.max_send_rate, "SentLast24Hours": float(self.accepted)},
            "SendingEnabled": self.behaviour.sending_enabled,
        }

    def _moto_call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
        host, port = self.moto_address
        request = urllib.request.Request(f"http://{host}:{port}{path}", data=body, method=method, headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read()


def start_moto() -> Any:
    """moto's server on 127.0.0.1 (a free port), started; stop() it when done."""
    from moto.moto_server import threaded_moto_server
    from moto.server import ThreadedMotoServer

    # moto's server logs every request through werkzeug's logger. Quieting that logger would also
    # silence the web app's request lines, which other tests read (test_abuse): its handler alone.
    threaded_moto_server.MotoRequestHandler.log_request = lambda *_args, **_kwargs: None  # type: ignore[method-assign]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


BENCH_RATE = 500.0  # MaxSendRate the bench's account has: the top of what AWS grants on request


def bench_server() -> SesServer:
    """The bench's server: moto kept out of SendEmail (the proxy counts), every 50th request checked
    against the model, and an account whose MaxSendRate is BENCH_RATE."""
    return SesServer(Behaviour(max_send_rate=BENCH_RATE), store=False, validate_every=50)


def bench_rate_bound(server: SesServer) -> str:
    """SES's own bound: one SendEmail per reader, at most MaxSendRate a second."""
    return f"SES's MaxSendRate ({BENCH_RATE:g}/s here; 14/s on a new production account): one SendEmail call per reader"


def bench_environment(server: SesServer) -> dict[str, str]:
    """The variables a `newsletter send` needs to send through `server`."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        # Nothing but these keys: no profile file, no instance metadata lookup.
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true",
    }


def bench_settings(server: SesServer) -> str:
    """newsletter.toml text that sends through `server` as fast as it allows."""
    return (
        f'[send]\nprovider = "ses"\n\n[ses]\nhost = "{server.url}"\nregion = "{REGION}"\n'
        f'configuration_set = "{CONFIGURATION_SET}"\ntimeout = 5\n'
    )


# --- checking a request as SES would ----------------------------------------------------------


def signature_error(method: str, path: str, headers: Any, body: bytes) -> tuple[str, str] | None:
    """SES's (code, message) for a request not signed with the test keys; None when it is."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    found = AUTHORIZATION.fullmatch(headers.get("Authorization") or "")
    if not found:
        return "MissingAuthenticationTokenException", "Missing Authentication Token"
    key, _, region, service, signed, signature = found.groups()
    if key != ACCESS_KEY:
        return "UnrecognizedClientException", "The security token included in the request is invalid."
    request = AWSRequest(method=method, url=f"http://{headers['Host']}{path}", data=body, headers={name: headers[name] for name in signed.split(";") if name in headers})
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if expected != signature:
        return "SignatureDoesNotMatch", (
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        )
    return None


def shape_errors(shapes: dict[str, Any], name: str, value: Any, where: str) -> list[str]:
    """`value` against shape `name` of SES's model: types, required members, no unknown members."""
    shape = shapes[name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        errors = [f"{where}.{member}: required" for member in shape.get("required", []) if member not in value]
        for member, item in value.items():
            if member not in shape["members"]:
                errors.append(f"{where}.{member}: not a member of {name}")
            else:
                errors += shape_errors(shapes, shape["members"][member]["shape"], item, f"{where}.{member}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [error for index, item in enumerate(value) for error in shape_errors(shapes, shape["member"]["shape"], item, f"{where}[{index}]")]
    if kind == "blob":
        try:
            base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            return [f"{where}: not base64"]
        return []
    expected = {"string": str, "boolean": bool, "integer": int, "long": int, "double": (int, float), "timestamp": (int, float, str)}.get(kind, object)
    if not isinstance(value, expected):  # type: ignore[arg-type]
        return [f"{where}: expected {kind}"]
    if kind == "string" and "enum" in shape and value not in shape["enum"]:
        return [f"{where}: not one of {shape['enum']}"]
    return []


def send_email_errors(shapes: dict[str, Any], body: Any, configuration_sets: set[str]) -> tuple[str, str] | None:
    """SES's (code, message) for a SendEmail body it would refuse; None when it would take it."""
    found = shape_errors(shapes, "SendEmailRequest", body, "SendEmailRequest")
    if found:
        return "BadRequestException", "; ".join(found)
    content = body["Content"]
    if len(content) != 1:
        return "BadRequestException", "Exactly one of Simple, Raw or Template content is required."
    for tag in body.get("EmailTags", []):
        if not TAG.fullmatch(tag["Name"]) or not TAG.fullmatch(tag["Value"]):
            return "BadRequestException", f"Invalid tag {tag['Name']}={tag['Value']}: only ASCII letters, numbers, '_' and '-', up to 256 characters."
    name = body.get("ConfigurationSetName")
    if name is not None and name not in configuration_sets:
        return "NotFoundException", f"Configuration set <{name}> does not exist."
    if "Raw" in content:
        data = content["Raw"]["Data"]
        if len(data) > MAX_RAW_BYTES:
            return "MessageRejected", "Message length is more than 40 megabytes"
        raw = base64.b64decode(data)
        head, blank, _ = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        if not blank:
            return "MessageRejected", "The message has to contain a header and a body, separated by one blank line."
        if any(len(line) + 2 > MAX_LINE for line in raw.splitlines()):
            return "MessageRejected", "Message has a line longer than 1000 characters."
    return None


def recipients_of(raw: bytes) -> list[str]:
    """The To, Cc and Bcc addresses of a raw message's header (SES's recipients when no Destination)."""
    head = raw.replace(b"\r\n", b"\n").partition(b"\n\n")[0].decode("utf-8", "replace")
    fields: dict[str, list[str]] = {}
    for line in re.sub(r"\n[ \t]+", " ", head).split("\n"):
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return [address.lower() for _, address in getaddresses(fields.get("to", []) + fields.get("cc", []) + fields.get("bcc", [])) if address]


class _Server(QuietServer):
    request_queue_size = 128  # up to 50 calls connect at once
    fake: SesServer



class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    @property
    def fake(self) -> SesServer:
        return self.server.fake

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body leave at once, not after a delayed ACK

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.partition("?")[0]
        refused = signature_error(method, self.path, self.headers, body)
        if refused:
            return self._error(403, *refused)
        if path == ACCOUNT_PATH and method == "GET" and self.fake.behaviour.get_account:
            return self._reply(200, self.fake.account())
        if path == SEND_PATH and method == "POST":
            return self._send_email(body)
        self._forward(method, body)

    def _send_email(self, raw_body: bytes) -> None:
        fake = self.fake
        self.arrived = time.time()
        with fake.lock:
            fake.requests += 1
            number = fake.requests
        fault = fake.next_fault()
        if fake.behaviour.latency:
            time.sleep(fake.behaviour.latency)
        if self._refused_before_reading(fault):
            return None
        try:
            body = json.loads(raw_body)
        except ValueError:
            return self._error(400, "SerializationException", "Could not parse the request body.")
        if (number - 1) % fake.validate_every == 0:
            problem = send_email_errors(fake.model, body, {CONFIGURATION_SET})
            if problem:
                return self._error(400 if problem[0] != "NotFoundException" else 404, *problem)
        raw = base64.b64decode(body["Content"]["Raw"]["Data"]) if "Raw" in body.get("Content", {}) else b""
        recipients = recipients_of(raw)
        rejected = ", ".join(address for address in recipients if address in fake.behaviour.reject)
        if rejected:
            return self._error(400, "MessageRejected", f"Email address is not verified. The following identities failed the check in region {REGION.upper()}: {rejected}")
        if fake.store:
            status, headers, answer = self._moto("POST", raw_body)
        else:
            status, headers, answer = 200, {"Content-Type": "application/json"}, json.dumps({"MessageId": f"local-{number}"}).encode()
        if status == 200:
            fake.took(body, raw, recipients)
        if fault == "drop_after":
            return self._drop()
        if fault == "slow_after":
            time.sleep(fake.behaviour.slow)
        self._send(status, headers, answer)

    def _refused_before_reading(self, fault: str | None) -> bool:
        """Answer a fault that comes before SES reads the message; False when there is none."""
        if fault == "429":
            self._error(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
        elif fault == "quota":
            self._error(429, "TooManyRequestsException", "Daily message quota exceeded.")
        elif fault in ("500", "503"):
            self._error(int(fault), "InternalFailure" if fault == "500" else "ServiceUnavailable", "Service is unavailable. Please try again later.")
        elif fault == "drop_before":
            self._drop()
        else:
            return False
        return True

    def _forward(self, method: str, body: bytes) -> None:
        self._send(*self._moto(method, body))

    def _moto(self, method: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        connection = HTTPConnection(*self.fake.moto_address, timeout=30)
        try:
            connection.request(method, self.path, body=body, headers={name: value for name, value in self.headers.items() if name.lower() != "connection"})
            answer = connection.getresponse()
            kept = {name: value for name, value in answer.getheaders() if name.lower() in ("content-type", "x-amzn-requestid", "x-amzn-errortype")}
            return answer.status, kept, answer.read()
        finally:
            connection.close()

    def _error(self, status: int, code: str, message: str) -> None:
        """An error as SES's REST-JSON API gives it: the code in x-amzn-ErrorType, the words in the body."""
        kind = f"{code}:http://internal.amazon.com/coral/com.amazon.coral.service/"
        self._send(status, {"Content-Type": "application/json", "x-amzn-ErrorType": kind}, json.dumps({"message": message}).encode())

    def _reply(self, status: int, body: object) -> None:
        self._send(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self._record(status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, status: int) -> None:
        if hasattr(self, "arrived"):
            with self.fake.lock:
                self.fake.times.append((self.arrived, status))
            del self.arrived

    def _drop(self) -> None:
        self._record(0)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
