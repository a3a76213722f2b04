"""What more than one test folder needs, in one place (the root conftest.py registers the fixtures):

cli.py              run(): the command line, in this process
workspace.py        the fixture workspace (settings, templates, issue) and its settings and readers
browser.py          the one Chromium of the run
ports.py            a port where every connection is refused
articles.py         the story fixtures and a web server for articles
sendgrid_server.py  a SendGrid-compatible HTTP server
smtp_server.py      aiosmtpd on loopback, on a port it picked itself
fake_model.py       a server speaking the OpenAI chat API
web.py              a client of the web app, its outbox, the app served on loopback
publishing.py       issues to publish, a publish run, the files it left
postgres_server.py, redis_server.py, nginx_server.py, unprivileged.py: the real servers, run unprivileged
deployment.py       the README's deployment (gunicorn behind nginx), slow clients, health checks
hostile.py          the hostile suite's secrets, and run() failing on any that shows
probes.py           the signup-timing attack and a slow mail server
namespaces.py       a private mount namespace (a small or read-only disk)

Every server here binds a port the system picks (port 0) or a unix socket, and says which."""
