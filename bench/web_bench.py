"""Web benchmark: the subscriber web app under gunicorn (2 workers, loopback) while an outbox send runs.

A fresh workspace holds 10,000 active subscribers and 1,000 more who will leave. gunicorn serves
`newsletter.web:create_app()`; `newsletter send` mails issue 7 to the outbox as its own process; meanwhile
50 client threads fire 1,000 one-click unsubscribes (RFC 8058 POSTs) and 500 JSON signups, interleaved.
Once the send is done the database and the outbox are checked: every one-click took (one status change
each), every signup is `pending` once with one confirmation notice and one confirmation email, and no
recipient got issue 7 twice. Prints requests per second, p50/p95/p99 latency of each kind (ms), the
status codes, lost and duplicated writes, the send's duration, and PASS/MISS for each target:
zero lost or duplicated writes, zero 5xx, one-click p99 <= 50 ms.
`--small` runs 1,000 recipients / 100 one-clicks / 50 signups instead, for a quick check.
"""

from __future__ import annotations

import argparse
import email.parser
import email.utils
import http.client
import json
import math
import os
import secrets
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository: the fixture settings and issue the tests use (tests.helpers)

from newsletter.db import Database, Location, Server  # noqa: E402
from newsletter.mail.links import Purpose, make_token  # noqa: E402
from newsletter.models import State, Status, Subscriber  # noqa: E402
from newsletter.workspace.credentials import signing_keys  # noqa: E402
from tests.helpers.workspace import CONFIG, SMALL_ISSUE  # noqa: E402

WEB = '\n[web]\nsubscribe_rate = "100000/minute"\naddress_rate = "100000/minute"\n'  # the load is not rate-limited
ISSUE = "7"  # the fixture issue's number, its key in the ledger
CLIENTS = 50
ONE_CLICK_P99_MS = 50.0
CONFIRM_SUBJECT = "Confirm your subscription to"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database(workspace: Path) -> Location:
    """The workspace's SQLite file, or the PostgreSQL database given with --postgres (DATABASE_URL)."""
    return Server(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL") else workspace / "subscribers.db"


def build_workspace(workspace: Path, recipients: int, leavers: int, secret: str) -> tuple[list[tuple[str, str]], str]:
    """The workspace and its subscribers; ([(leaver's address, one-click path)], the issue's subject)."""
    (workspace / "templates").mkdir(parents=True)
    (workspace / "issues").mkdir()
    (workspace / "newsletter.toml").write_text(CONFIG + WEB, encoding="utf-8")
    shutil.copy(SMALL_ISSUE, workspace / "issues" / "2026-12-01.yaml")
    subject = next(line for line in SMALL_ISSUE.read_text().splitlines() if line.startswith("subject:"))
    subject = json.loads(subject.partition(":")[2].strip())
    stayers = [Subscriber(f"reader{n:06d}@example.com", f"Reader {n}", {}) for n in range(recipients)]
    # They sort after the stayers, so the send reaches them after the one-clicks began: those who left
    # by then must be skipped at claim time, not mailed.
    leaving = [Subscriber(f"unsub{n:05d}@example.com", f"Unsub {n}", {}) for n in range(leavers)]
    key = signing_keys("outbox").current
    assert key == secret.encode()
    with Database(database(workspace)) as db:
        db.subscribers.upsert([*stayers, *leaving])
        paths = []
        for subscriber in leaving:
            found = db.subscribers.get(subscriber.email)
            assert found is not None and found.public_id
            paths.append((subscriber.email, f"/unsubscribe?token={make_token(found.public_id, Purpose.UNSUBSCRIBE, key)}"))
    return paths, subject


def start_gunicorn(workspace: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "-c",
        "python:newsletter.web.gunicorn_conf",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "newsletter.web:create_app()",
    ]
    with open(log, "wb") as out:  # the access log (stdout) and the error log (stderr), for the checks
        server = subprocess.Popen(command, cwd=workspace, env=dict(env, NEWSLETTER_WORKSPACE=str(workspace)), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                probe.close()
                return server
            probe.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer GET /healthz with 200 within 30 s")


class Client:
    """The load: jobs taken from one list by `CLIENTS` threads, each with its own keep-alive
    connection (http.client reopens it when the server closes it, as gunicorn's sync workers do)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def connection(self) -> http.client.HTTPConnection:
        if not hasattr(self.local, "connection"):
            self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.local.connection  # type: ignore[no-any-return]

    def post(self, job: tuple[str, str, bytes, str]) -> tuple[str, int, float]:
        """(kind, status, latency s) of one request; status 0: no answer (connection error)."""
        kind, path, body, content_type = job
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        start = time.perf_counter()
        for attempt in range(2):  # one retry, only when the request could not be sent at all
            connection = self.connection()
            try:
                connection.request("POST", path, body, headers)
            except OSError:
                connection.close()
                if attempt:
                    return kind, 0, time.perf_counter() - start
                continue
            try:
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()  # sent but unanswered: never re-sent (that would hide a lost write)
                return kind, 0, time.perf_counter() - start
            if response.will_close:
                connection.close()
            return kind, response.status, time.perf_counter() - start
        return kind, 0, time.perf_counter() - start


def interleaved(one_clicks: list[tuple[str, str]], signups: list[str]) -> list[tuple[str, str, bytes, str]]:
    """One signup spread evenly among the one-clicks (2 : 1 for the default counts)."""
    jobs: list[tuple[str, str, bytes, str]] = []
    step = len(one_clicks) / max(len(signups), 1)
    next_signup = 0
    for n, (_, path) in enumerate(one_clicks):
        jobs.append(("one-click", path, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded"))
        while next_signup < len(signups) and (n + 1) >= (next_signup + 1) * step:
            jobs.append(("subscribe", "/subscribe", json.dumps({"email": signups[next_signup]}).encode(), "application/json"))
            next_signup += 1
    for address in signups[next_signup:]:
        jobs.append(("subscribe", "/subscribe", json.dumps({"email": address}).encode(), "application/json"))
    return jobs


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]  # nearest rank


def read_outbox(folder: Path, issue_subject: str) -> tuple[Counter[str], Counter[str], int]:
    """(issue messages per address, confirmation messages per address, other files) in outbox/new."""
    parser = email.parser.BytesHeaderParser()
    issue, confirmations, other = Counter[str](), Counter[str](), 0
    for entry in os.scandir(folder / "new"):
        with open(entry.path, "rb") as handle:
            head = handle.read(16_384)
        message = parser.parsebytes(head.partition(b"\n\n")[0] + b"\n\n")
        address = email.utils.parseaddr(str(message.get("To", "")))[1].lower()
        subject = str(message.get("Subject", ""))
        if subject == issue_subject:
            issue[address] += 1
        elif subject.startswith(CONFIRM_SUBJECT):
            confirmations[address] += 1
        else:
            other += 1
    return issue, confirmations, other


def notices_sent(location: Location, timeout: float = 60.0) -> None:
    """Wait for the app's background senders to send the confirmations the signups queued (the
    app never sends one inside a request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Database(location) as db:
            if db.notice_queue.waiting() == 0:
                return
        time.sleep(0.05)


def check(workspace: Path, leavers: list[str], signups: list[str], issue_subject: str, send_stdout: str) -> tuple[int, int, list[str]]:
    """(lost writes, duplicated writes, problems found) after the run."""
    lost = duplicated = 0
    problems: list[str] = []

    def note(kind: str, count: int, what: str) -> None:
        nonlocal lost, duplicated
        if count:
            problems.append(f"{count} {what}")
            if kind == "lost":
                lost += count
            else:
                duplicated += count

    issue_sent, confirmations, other = read_outbox(workspace / "outbox", issue_subject)
    leaving, new = set(leavers), set(signups)
    with Database(database(workspace)) as db:
        everyone = Counter(s.email for s in db.subscribers.all())
        by_status = {status: {s.email for s in db.subscribers.all(status)} for status in Status}
        note("lost", len(leaving - by_status[Status.UNSUBSCRIBED]), "one-click subscribers not unsubscribed")
        note("lost", len(by_status[Status.UNSUBSCRIBED] - leaving), "others unsubscribed (wrong rows written)")
        changes = Counter({address: len(db.subscribers.changes(address)) for address in leavers})
        note("lost", sum(1 for address in leavers if changes[address] == 0), "unsubscribes with no status change recorded")
        note("duplicated", sum(count - 1 for count in changes.values() if count > 1), "extra status changes of unsubscribers")
        note("lost", len(new - set(everyone)), "signups missing from the list")
        note("duplicated", sum(everyone[address] - 1 for address in new if everyone[address] > 1), "signup rows repeated")
        note("lost", len(new - by_status[Status.PENDING]), "signups not pending")
        note("lost", len(by_status[Status.PENDING] - new), "pending subscribers who did not sign up")
        notices = {address: db.notices.sent_to(address) for address in signups}
        note("lost", sum(1 for found in notices.values() if not found), "signups with no confirmation notice")
        note("duplicated", sum(len(found) - 1 for found in notices.values() if len(found) > 1), "extra confirmation notices")
        not_accepted = sum(1 for found in notices.values() for _, outcome, _ in found if outcome != "accepted")
        if not_accepted:
            problems.append(f"{not_accepted} confirmation notices not accepted by the outbox")
        note("lost", sum(1 for address in signups if confirmations[address] == 0), "signups with no confirmation email in the outbox")
        note("duplicated", sum(confirmations[a] - 1 for a in signups if confirmations[a] > 1), "extra confirmation emails in the outbox")
        stray = sum(count for address, count in confirmations.items() if address not in new)
        if stray:
            problems.append(f"{stray} confirmation emails to addresses that did not sign up")
        # The send: one issue message per recipient at most, and exactly one per `sent` ledger row.
        sent = {d.email for d in db.ledger.deliveries(ISSUE, [State.SENT])}
        counts = db.ledger.counts(ISSUE)
        note("duplicated", sum(count - 1 for count in issue_sent.values() if count > 1), "recipients with more than one issue message")
        note("lost", len(sent - set(issue_sent)), "ledger rows `sent` with no message in the outbox")
        note("duplicated", len(set(issue_sent) - sent), "issue messages in the outbox that the ledger does not show as sent")
        stayers = set(everyone) - leaving - new
        note("lost", len(stayers - sent), "active subscribers who were not sent the issue")
        mailed_pending = len(new & set(issue_sent))
        if mailed_pending:
            problems.append(f"{mailed_pending} pending signups were sent the issue")
        if other:
            problems.append(f"{other} other files in the outbox")
        left_before = len(leaving - set(issue_sent))
        states = ", ".join(f"{state} {count:,}" for state, count in counts.items() if count)
        print(f"send ledger (issue {ISSUE}): {states}; of the {len(leaving):,} who left, {len(leaving) - left_before:,} were mailed before leaving")
    if f"Ledger: {len(sent)} sent" not in send_stdout:
        problems.append(f"the send's report disagrees with its ledger ({len(sent)} sent): {send_stdout.strip()!r}")
    return lost, duplicated, problems


def run(recipients: int, one_clicks: int, signups_count: int) -> bool:
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    os.environ["NEWSLETTER_SECRET"] = secret  # this process signs the links with it too
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    server: subprocess.Popen[bytes] | None = None
    sender: subprocess.Popen[bytes] | None = None
    folder = tempfile.mkdtemp(prefix="web-bench-")
    try:
        workspace = Path(folder) / "workspace"
        paths, issue_subject = build_workspace(workspace, recipients, one_clicks, secret)
        signups = [f"new{n}@example.com" for n in range(signups_count)]
        jobs = interleaved(paths, signups)
        port = free_port()
        log = Path(folder) / "gunicorn.log"
        server = start_gunicorn(workspace, env, port, log)

        send_out, send_err = Path(folder) / "send.out", Path(folder) / "send.err"
        command = [str(Path(sys.executable).with_name("newsletter")), "send", "issues/2026-12-01.yaml"]
        with open(send_out, "wb") as out, open(send_err, "wb") as err:
            send_start = time.perf_counter()
            sender = subprocess.Popen(command, cwd=workspace, env=env, stdout=out, stderr=err)
        send_end: list[float] = []  # when the send exited, seen by a thread that waits for it

        def wait_for_send() -> None:
            sender.wait()
            send_end.append(time.perf_counter())

        waiter = threading.Thread(target=wait_for_send, daemon=True)
        waiter.start()
        deadline = time.monotonic() + 20  # the load starts once the send has begun writing messages
        while time.monotonic() < deadline and sender.poll() is None:
            new_folder = workspace / "outbox" / "new"
            if new_folder.is_dir() and next(os.scandir(new_folder), None) is not None:
                break
            time.sleep(0.005)

        client = Client(port)
        load_start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(client.post, jobs))
        load_end = time.perf_counter()
        waiter.join()
        notices_sent(database(workspace))
        send_seconds = send_end[0] - send_start
        send_stdout = send_out.read_text(errors="replace")
        if sender.returncode:
            print(f"newsletter send failed ({sender.returncode}):\n{send_err.read_text(errors='replace')[-3000:]}")

        load_seconds = load_end - load_start
        statuses = Counter(status for _, status, _ in results)
        by_kind = {kind: [latency * 1000 for k, _, latency in results if k == kind] for kind in ("one-click", "subscribe")}
        kind_statuses = {kind: Counter(status for k, status, _ in results if k == kind) for kind in ("one-click", "subscribe")}
        print(f"{recipients:,} recipients, {len(results):,} requests ({one_clicks:,} one-click + {signups_count:,} subscribe) from {CLIENTS} clients, gunicorn 2 workers")
        if send_end[0] >= load_end:
            overlap = f"all of it during the send, which ran {send_end[0] - load_end:.2f} s longer"
        else:
            overlap = f"{(send_end[0] - load_start) / load_seconds:.0%} of it during the send"

        print(f"load: {load_seconds:.2f} s, {len(results) / load_seconds:,.0f} requests/s ({overlap})")
        for kind, latencies in by_kind.items():
            p50, p95, p99 = (percentile(latencies, share) for share in (0.50, 0.95, 0.99))
            codes = ", ".join(f"{code}: {count:,}" for code, count in sorted(kind_statuses[kind].items()))
            print(f"  {kind:<9}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms  max {max(latencies, default=float('nan')):7.1f} ms  ({codes})")
        print("status codes: " + ", ".join(f"{code if code else 'no answer'}: {count:,}" for code, count in sorted(statuses.items())))
        print(f"send: {send_seconds:.2f} s ({send_stdout.strip().splitlines()[0] if send_stdout.strip() else 'no output'}), exit {sender.returncode}")

        lost, duplicated, problems = check(workspace, [address for address, _ in paths], signups, issue_subject, send_stdout)
        for problem in problems:
            print(f"  ! {problem}")
        server_log = log.read_text(errors="replace")
        errors = [line for line in server_log.splitlines() if any(word in line for word in ("Traceback", "Error", "locked", "busy", "[CRITICAL]", "WORKER TIMEOUT"))]
        if errors:
            print(f"gunicorn log: {len(errors)} error lines, e.g.:")
            for line in errors[:8]:
                print(f"    {line[:220]}")
        print(f"lost writes: {lost}, duplicated writes: {duplicated}")

        five_xx = sum(count for code, count in statuses.items() if code >= 500 or code == 0)
        one_click_ok = kind_statuses["one-click"].get(200, 0) == one_clicks
        signups_ok = kind_statuses["subscribe"].get(202, 0) == signups_count
        p99 = percentile(by_kind["one-click"], 0.99)
        targets = [
            ("zero lost or duplicated writes", lost == 0 and duplicated == 0 and not problems),
            (f"zero 5xx (or unanswered): {five_xx}", five_xx == 0),
            ("every one-click 200, every subscribe 202", one_click_ok and signups_ok),
            (f"one-click p99 <= {ONE_CLICK_P99_MS:g} ms: {p99:.1f} ms", p99 <= ONE_CLICK_P99_MS),
            ("the send succeeded", sender.returncode == 0),
        ]
        for name, ok in targets:
            print(f"{'PASS' if ok else 'MISS'}  {name}")
        return all(ok for _, ok in targets)
    finally:
        for child in (sender, server):
            if child is not None and child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1,000 recipients, 100 one-clicks, 50 signups (a quick check)")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"concurrent clients (default {CLIENTS}); latency grows with them, since each waits for its answer")
    parser.add_argument("--postgres", action="store_true", help="store everything in a throw-away PostgreSQL server (needs Debian's postgresql)")
    args = parser.parse_args()
    globals()["CLIENTS"] = args.clients
    sizes = (1_000, 100, 50) if args.small else (10_000, 1_000, 500)
    if not args.postgres:
        sys.exit(0 if run(*sizes) else 1)
    from tests.helpers.postgres_server import start_server

    server = start_server()
    try:
        os.environ["DATABASE_URL"] = server.new_database()
        print("database: PostgreSQL (throw-away server, socket only)")
        ok = run(*sizes)
    finally:
        server.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
