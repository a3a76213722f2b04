"""SMTP benchmark: `newsletter send` of the sample issue to 3,000 subscribers through an SMTP sink
(aiosmtpd on 127.0.0.1, plain SMTP, every message accepted and dropped), as one process.

Prints messages per second for the whole process and its wall time, the CPU time of the sender and
of the sink (aiosmtpd reads DATA line by line and can be the bottleneck), the messages the sink took
and the SMTP sessions (EHLOs) it saw: the provider should reuse one connection for the whole run.
Target on a 2-core machine: >= 450 messages/s over one connection.

For scale it then measures the sink's own ceiling on this machine, now: the same message, prebuilt
once, handed to the same sink in a tight smtplib loop. The sender cannot beat that figure.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from newsletter.db import Database
from newsletter.models import Subscriber

ROOT = Path(__file__).resolve().parent.parent
COUNT = 3_000


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.sessions = 0

    # aiosmtpd calls its hooks with these arguments by position; the ones named _ are not needed here
    async def handle_EHLO(self, _server, session, _envelope, hostname: str, responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, _server, _session, _envelope) -> str:
        self.count += 1
        return "250 OK"


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder)
            shutil.copytree(ROOT / "issues", workspace / "issues")
            config = (ROOT / "newsletter.toml").read_text()
            config += f'\n[send]\nprovider = "smtp"\n\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            (workspace / "newsletter.toml").write_text(config)
            with Database(workspace / "subscribers.db") as db:
                db.subscribers.upsert(Subscriber(f"reader{n:07d}@example.com", f"Reader {n}") for n in range(COUNT))
            env = dict(os.environ, NEWSLETTER_SECRET="bench-secret-Kq3vN8xTz1bR7mW2pL9sYc4dF6")
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            command = [str(Path(sys.executable).with_name("newsletter")), "send", "issues/2026-11-24.yaml"]
            start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            done = subprocess.run(command, cwd=workspace, env=env, check=True, capture_output=True, text=True)
            wall, usage = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
            after = resource.getrusage(resource.RUSAGE_SELF)  # meanwhile only the sink's thread ran here
            sessions = sink.sessions
            ceiling = prebuilt_rate(workspace, port)
    finally:
        controller.stop()
    if f"Ledger: {COUNT} sent" not in done.stdout or sink.count != COUNT + PREBUILT:
        sys.exit(f"unexpected result ({sink.count} messages at the sink):\n{done.stdout}")
    print(f"{COUNT:,} messages over SMTP: {wall:.2f} s, {COUNT / wall:,.0f} messages/s whole process   (target: >= 450)")
    sink_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"  CPU: sender {usage.ru_utime + usage.ru_stime:.1f} s, sink {sink_cpu:.1f} s (a sink CPU near the wall time means the sink sets the rate)")
    print(f"  sink took {COUNT:,} messages in {sessions} SMTP session(s)   (target: 1)")
    print(f"  the sink's ceiling here and now, one prebuilt message sent {PREBUILT:,} times: {ceiling:,.0f} messages/s "
          f"(the sender reached {COUNT / wall / ceiling:.0%} of it)")


PREBUILT = 1_000


def prebuilt_rate(workspace: Path, port: int) -> float:
    """Messages per second into the sink for one message built once (what the sink alone allows)."""
    import smtplib

    from newsletter.issue.prepare import prepare_issue
    from newsletter.mail.message import MessageTemplate
    from newsletter.models import Letter

    prepared = prepare_issue(workspace / "issues" / "2026-11-24.yaml")
    letter = Letter("reader0000000@example.com", "Reader 0", "https://weeklymodel.example.com/unsubscribe?token=x")
    data = MessageTemplate(prepared.email, prepared.workspace.config).render(letter).replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port) as connection:
        start = time.perf_counter()
        for _ in range(PREBUILT):
            connection.sendmail(prepared.workspace.config.sender.address, [letter.email], data)
        return PREBUILT / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
