"""The database schema, one numbered step per version (SQLite's `PRAGMA user_version`).

Never edit a step that has been released: add a new one, so a database written by any earlier
version is brought up to date, in order, each step in its own transaction. Step 1 is the schema
the first release created (tests/fixtures/subscribers-v1.db was written by it).
"""

from __future__ import annotations

NOW = "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"

MIGRATIONS: tuple[str, ...] = (
    # 1: subscribers, the send ledger and SendGrid schedules
    """
    CREATE TABLE subscribers (
        email TEXT PRIMARY KEY,
        name TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE deliveries (
        issue TEXT NOT NULL,
        email TEXT NOT NULL,
        name TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
        send_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        message_id TEXT,
        detail TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (issue, email)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_state ON deliveries (issue, state);
    CREATE TABLE schedules (
        issue TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL,
        send_at TEXT NOT NULL
    );
    """,
    # 2: opaque link ids; the `scheduled` state; what each issue number sent (fingerprints);
    #    schedules held here or at the provider; indexes so each batch costs the same at any size.
    f"""
    -- Checks are written as OR chains: for `x IN (...)` SQLite builds a temporary table on every
    -- row written, which tripled the cost of an import and of each ledger update.
    CREATE TABLE subscribers_2 (
        email TEXT PRIMARY KEY,
        name TEXT,
        attributes TEXT NOT NULL DEFAULT '{{}}',
        status TEXT NOT NULL CHECK (status = 'active' OR status = 'unsubscribed' OR status = 'bounced' OR status = 'complained'),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        public_id TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO subscribers_2 (email, name, attributes, status, created_at, updated_at, public_id)
        SELECT email, name, attributes, status, created_at, updated_at, lower(hex(randomblob(12))) FROM subscribers;
    DROP TABLE subscribers;
    ALTER TABLE subscribers_2 RENAME TO subscribers;
    CREATE UNIQUE INDEX subscribers_by_public_id ON subscribers (public_id);
    -- Schema 1 imported an export's `status` column as an attribute and made everyone active:
    -- people who had left would be mailed again. Their status comes back from the attribute.
    UPDATE subscribers SET status = json_extract(attributes, '$.status')
        WHERE status = 'active' AND json_extract(attributes, '$.status') IN ('unsubscribed', 'bounced', 'complained');
    UPDATE subscribers SET attributes = json_remove(attributes, '$.status')
        WHERE json_extract(attributes, '$.status') IN ('active', 'unsubscribed', 'bounced', 'complained');

    -- The name lives with the subscriber (schema 1 copied it here).
    CREATE TABLE deliveries_2 (
        issue TEXT NOT NULL,
        email TEXT NOT NULL,
        state TEXT NOT NULL CHECK (
            state = 'pending' OR state = 'sending' OR state = 'scheduled' OR state = 'sent'
            OR state = 'failed' OR state = 'unknown' OR state = 'skipped'
        ),
        send_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        message_id TEXT,
        detail TEXT,
        updated_at TEXT NOT NULL,
        not_before REAL,
        PRIMARY KEY (issue, email)
    ) WITHOUT ROWID;
    INSERT INTO deliveries_2 (issue, email, state, send_id, attempts, message_id, detail, updated_at)
        SELECT issue, email, state, send_id, attempts, message_id, detail, updated_at FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_2 RENAME TO deliveries;
    -- Partial indexes: the queue of pending rows, and the rows in flight. A row leaves the queue
    -- when claimed and the in-flight index when settled; sent rows are in neither, so each batch
    -- costs the same however many went before it.
    CREATE INDEX deliveries_pending ON deliveries (issue, email) WHERE state = 'pending';
    CREATE INDEX deliveries_sending ON deliveries (issue, email) WHERE state = 'sending';

    -- Batches handed to the provider and not yet settled: after a crash, rows `sending` under one
    -- of these may have left (unknown); rows under any other send id never did (pending again).
    CREATE TABLE handovers (
        issue TEXT NOT NULL,
        send_id TEXT NOT NULL,
        PRIMARY KEY (issue, send_id)
    ) WITHOUT ROWID;

    CREATE TABLE schedules_2 (
        issue TEXT PRIMARY KEY,
        send_at TEXT NOT NULL,
        provider TEXT NOT NULL,
        held_by TEXT NOT NULL CHECK (held_by IN ('provider', 'here')),
        batch_id TEXT,
        file TEXT,
        created_at TEXT NOT NULL
    );
    INSERT INTO schedules_2 (issue, send_at, provider, held_by, batch_id, file, created_at)
        SELECT issue, send_at, 'sendgrid', 'provider', batch_id, NULL, {NOW} FROM schedules;
    DROP TABLE schedules;
    ALTER TABLE schedules_2 RENAME TO schedules;
    UPDATE deliveries SET state = 'scheduled'
        WHERE state = 'sent'
          AND EXISTS (SELECT 1 FROM schedules s WHERE s.issue = deliveries.issue AND deliveries.detail = 'scheduled (batch ' || s.batch_id || ')');

    CREATE TABLE issues (
        issue TEXT PRIMARY KEY,
        file TEXT NOT NULL,
        subject TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        first_fingerprint TEXT NOT NULL,
        handed_over_before_change INTEGER,
        changed_at TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # 3: the web app. `pending` subscribers (signed up, not yet confirmed); when a status last
    #    changed (an older confirmation link cannot undo a later unsubscribe); soft bounces in a
    #    row; every status change with its channel; provider events stored once each; and the
    #    confirmation and welcome messages sent.
    """
    CREATE TABLE subscribers_3 (
        email TEXT PRIMARY KEY,
        name TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL CHECK (
            status = 'active' OR status = 'unsubscribed' OR status = 'bounced' OR status = 'complained' OR status = 'pending'
        ),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        public_id TEXT NOT NULL,
        status_changed_at TEXT,
        soft_bounces INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    INSERT INTO subscribers_3 (email, name, attributes, status, created_at, updated_at, public_id, status_changed_at)
        SELECT email, name, attributes, status, created_at, updated_at, public_id, updated_at FROM subscribers;
    DROP TABLE subscribers;
    ALTER TABLE subscribers_3 RENAME TO subscribers;
    CREATE UNIQUE INDEX subscribers_by_public_id ON subscribers (public_id);

    CREATE TABLE status_changes (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL,
        status TEXT NOT NULL,
        channel TEXT NOT NULL,
        detail TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX status_changes_by_email ON status_changes (email, at);

    CREATE TABLE events (
        event_id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        event TEXT NOT NULL,
        email TEXT,
        issue TEXT,
        send_id TEXT,
        happened_at TEXT,
        received_at TEXT NOT NULL,
        detail TEXT
    ) WITHOUT ROWID;
    CREATE INDEX events_by_issue ON events (issue, event);

    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        email TEXT NOT NULL,
        provider TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX notices_by_email ON notices (email, at);
    """,
    # 4: the web app's confirmation and welcome emails, queued by a request and sent by a
    # background sender (sending inside the request told who was subscribed by its time)
    """
    CREATE TABLE notice_queue (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        email TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'unknown')),
        queued_at TEXT NOT NULL,
        not_before TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_at TEXT,
        detail TEXT
    );
    CREATE INDEX notice_queue_by_state ON notice_queue (state, not_before);
    """,
    # 5: permanent refusals in a row per address (SMTP 5xx naming the mailbox: `[send] bounce_after`
    # of them make it bounced), with a small index of the addresses that have any; the issue an
    # unsubscribe link came from (the report credits that issue); the provider each issue went
    # out through (the report knows which figures that provider measures).
    """
    ALTER TABLE subscribers ADD COLUMN permanent_failures INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX subscribers_failing ON subscribers (email) WHERE permanent_failures > 0;
    ALTER TABLE status_changes ADD COLUMN issue TEXT;
    ALTER TABLE issues ADD COLUMN provider TEXT;
    """,
    # 6: the audience. Tags; each reader's choices of the workspace's topics (no row: the topic's
    # default); how each reader consented; suppressions that outlive an erased subscriber (a keyed
    # hash of the address, never the address); the segment each delivery was sent under; the
    # topic each issue went out in (an unsubscribe link from it leaves that topic only); a new
    # address a reader asked for on the preferences page, until they confirm it from there.
    """
    CREATE TABLE tags (
        email TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (email, tag)
    ) WITHOUT ROWID;
    CREATE TABLE subscriptions (
        email TEXT NOT NULL,
        topic TEXT NOT NULL,
        subscribed INTEGER NOT NULL CHECK (subscribed = 0 OR subscribed = 1),
        changed_at TEXT NOT NULL,
        PRIMARY KEY (email, topic)
    ) WITHOUT ROWID;
    CREATE INDEX subscriptions_by_topic ON subscriptions (topic, subscribed, email);
    CREATE TABLE consents (
        email TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        method TEXT NOT NULL,
        source TEXT,
        text_version TEXT
    ) WITHOUT ROWID;
    CREATE TABLE suppressions (
        address_hash TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE address_changes (
        email TEXT PRIMARY KEY,
        new_email TEXT NOT NULL,
        requested_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audience_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE deliveries ADD COLUMN segment TEXT;
    ALTER TABLE issues ADD COLUMN topic TEXT;
    CREATE INDEX subscribers_by_created ON subscribers (created_at);
    """,
    # Engagement the tool measures itself (mail/clicks.py): each click through its redirect, and the
    # stories an issue went out with, so a report by story outlives edits to the issue file.
    """
    CREATE TABLE clicks (
        id INTEGER PRIMARY KEY,
        issue TEXT NOT NULL,
        slot TEXT NOT NULL,
        url TEXT NOT NULL,
        email TEXT,
        variant INTEGER,
        clicked_at TEXT NOT NULL,
        machine TEXT
    );
    CREATE INDEX clicks_by_email ON clicks (email, clicked_at) WHERE email IS NOT NULL;
    CREATE TABLE issue_stories (
        issue TEXT NOT NULL,
        slot TEXT NOT NULL,
        position INTEGER,
        title TEXT NOT NULL,
        source TEXT,
        section TEXT,
        url TEXT NOT NULL,
        has_image INTEGER NOT NULL DEFAULT 0,
        has_quote INTEGER NOT NULL DEFAULT 0,
        has_facts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (issue, slot)
    );
    ALTER TABLE deliveries ADD COLUMN variant INTEGER;
    """,
    # What measured each issue's engagement when it went out (reports say "not measured" rather than
    # draw zeros): the tool's [tracking] clicks mode, its open pixel, and the provider's own click
    # tracking. And the clicks of people per story, counted from an index alone (report --stories).
    """
    ALTER TABLE issues ADD COLUMN tracking_clicks TEXT;
    ALTER TABLE issues ADD COLUMN tracking_opens INTEGER;
    ALTER TABLE issues ADD COLUMN provider_clicks INTEGER;
    CREATE INDEX clicks_by_story ON clicks (issue, slot, machine);
    """,
    # Subject tests (sending/subjects.py): the plan a test runs by, and once decided, its winner and
    # the figures it was decided on. The readers who wait for the winner are held as a schedule.
    """
    CREATE TABLE subject_tests (
        issue TEXT PRIMARY KEY,
        subjects TEXT NOT NULL,
        share INTEGER NOT NULL,
        decide_after INTEGER NOT NULL,
        decide_at TEXT NOT NULL,
        started_at TEXT NOT NULL,
        winner INTEGER,
        clear INTEGER,
        measure TEXT,
        results TEXT,
        decided_at TEXT
    );
    """,
    # Paced and canary sends (sending/pacing.py): each issue's plan (its window, its canary, a pause
    # and what it saw), and which ledger rows are the canary, in the order they go.
    """
    CREATE TABLE send_plans (
        issue TEXT PRIMARY KEY,
        file TEXT NOT NULL,
        provider TEXT NOT NULL,
        window_seconds INTEGER,
        starts_at TEXT,
        ends_at TEXT,
        total INTEGER,
        done_before INTEGER NOT NULL DEFAULT 0,
        canary_share REAL,
        canary_wait_seconds INTEGER,
        canary_size INTEGER,
        canary_sent_at TEXT,
        canary_cleared_at TEXT,
        paused_at TEXT,
        paused_reason TEXT,
        baseline_copies INTEGER NOT NULL DEFAULT 0,
        baseline_hard INTEGER NOT NULL DEFAULT 0,
        baseline_complaints INTEGER NOT NULL DEFAULT 0,
        cancelled_at TEXT,
        created_at TEXT NOT NULL
    );
    ALTER TABLE deliveries ADD COLUMN canary INTEGER;
    CREATE INDEX deliveries_canary ON deliveries (issue, canary) WHERE canary IS NOT NULL;
    """,
    # 11: the event outbox (db/event_outbox.py): each change's event, written in the same transaction
    """
    CREATE TABLE event_outbox (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        email TEXT,
        data TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        once TEXT,
        webhooks_at TEXT,
        automations_at TEXT
    );
    CREATE UNIQUE INDEX event_outbox_by_event_id ON event_outbox (event_id);
    CREATE UNIQUE INDEX event_outbox_once ON event_outbox (once) WHERE once IS NOT NULL;
    CREATE INDEX event_outbox_for_webhooks ON event_outbox (id) WHERE webhooks_at IS NULL;
    CREATE INDEX event_outbox_for_automations ON event_outbox (id) WHERE automations_at IS NULL;
    CREATE INDEX event_outbox_by_email ON event_outbox (email) WHERE email IS NOT NULL;
    """,
    # 12: automations (newsletter/automations/): where each reader is in each automation they entered,
    # and when their current step is due (epoch seconds). Their emails are rows of the send ledger.
    """
    CREATE TABLE automation_readers (
        automation TEXT NOT NULL,
        email TEXT NOT NULL,
        step TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'done', 'left')),
        due_at REAL NOT NULL,
        enrolled_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        detail TEXT,
        PRIMARY KEY (automation, email)
    ) WITHOUT ROWID;
    CREATE INDEX automation_readers_due ON automation_readers (automation, state, due_at);
    CREATE INDEX automation_readers_by_email ON automation_readers (email);
    """,
    # 13: the admin (web/admin.py): one-time sign-in links and sessions, each stored by the SHA-256 of
    # its secret (never the secret), and every action an editor took (`email`: the reader it was
    # about, scrubbed with the others on erasure: db/records.py).
    """
    CREATE TABLE admin_links (
        token_hash TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE admin_sessions (
        id_hash TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE admin_actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        editor TEXT NOT NULL,
        action TEXT NOT NULL,
        email TEXT,
        detail TEXT
    );
    CREATE INDEX admin_actions_by_email ON admin_actions (email);
    """,
    # 14: the REST API's tokens (`newsletter api-token`): only each token's SHA-256 is kept, never the token.
    """
    CREATE TABLE api_tokens (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT
    );
    CREATE UNIQUE INDEX api_tokens_by_hash ON api_tokens (token_hash);
    """,
    # 15: webhooks out: one row per (event, receiver), claimed and retried like the ledger's rows, and
    # every attempt with the receiver's answer (newsletter/db/webhooks.py)
    """
    CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        webhook TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        claim TEXT,
        lease_until TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE UNIQUE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id, webhook);
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
    CREATE TABLE webhook_attempts (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'given up')),
        status INTEGER,
        error TEXT,
        answer TEXT
    );
    CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id);
    """,
    # 16: the git commit an issue went out from (sending/went_out.py, when the workspace is a git
    # repository): `git rev-parse HEAD`, and whether the issue file was exactly as committed.
    """
    ALTER TABLE issues ADD COLUMN git_commit TEXT;
    ALTER TABLE issues ADD COLUMN git_clean INTEGER;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

# The same steps for PostgreSQL, number for number: a database copied between the two (`newsletter
# db copy`) has the same tables, columns (in the same order) and constraints. Text is compared
# byte by byte (COLLATE "C") as SQLite does: address order, ranges and ISO times sort the same.
# PostgreSQL alters tables in place where SQLite had to rebuild them.
T = 'TEXT COLLATE "C"'
PG_NOW = """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""

POSTGRES_MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE subscribers (
        email {T} PRIMARY KEY,
        name {T},
        attributes {T} NOT NULL DEFAULT '{{}}',
        status {T} NOT NULL CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        created_at {T} NOT NULL,
        updated_at {T} NOT NULL
    );
    CREATE TABLE deliveries (
        issue {T} NOT NULL,
        email {T} NOT NULL,
        name {T},
        state {T} NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
        send_id {T},
        attempts INTEGER NOT NULL DEFAULT 0,
        message_id {T},
        detail {T},
        updated_at {T} NOT NULL,
        PRIMARY KEY (issue, email)
    );
    CREATE INDEX deliveries_by_state ON deliveries (issue, state);
    CREATE TABLE schedules (
        issue {T} PRIMARY KEY,
        batch_id {T} NOT NULL,
        send_at {T} NOT NULL
    );
    """,
    f"""
    ALTER TABLE subscribers ADD COLUMN public_id {T};
    -- 24 random hex digits, as SQLite's randomblob(12) gave (gen_random_uuid is built in from 13).
    UPDATE subscribers SET public_id = substr(replace(gen_random_uuid()::text, '-', ''), 1, 24);
    ALTER TABLE subscribers ALTER COLUMN public_id SET NOT NULL;
    CREATE UNIQUE INDEX subscribers_by_public_id ON subscribers (public_id);
    UPDATE subscribers SET status = attributes::jsonb ->> 'status'
        WHERE status = 'active' AND attributes::jsonb ->> 'status' IN ('unsubscribed', 'bounced', 'complained');
    UPDATE subscribers SET attributes = (attributes::jsonb - 'status')::text
        WHERE attributes::jsonb ->> 'status' IN ('active', 'unsubscribed', 'bounced', 'complained');

    ALTER TABLE deliveries DROP COLUMN name;
    ALTER TABLE deliveries ADD COLUMN not_before DOUBLE PRECISION;
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
    ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
        CHECK (state IN ('pending', 'sending', 'scheduled', 'sent', 'failed', 'unknown', 'skipped'));
    DROP INDEX deliveries_by_state;
    CREATE INDEX deliveries_pending ON deliveries (issue, email) WHERE state = 'pending';
    CREATE INDEX deliveries_sending ON deliveries (issue, email) WHERE state = 'sending';

    CREATE TABLE handovers (
        issue {T} NOT NULL,
        send_id {T} NOT NULL,
        PRIMARY KEY (issue, send_id)
    );

    CREATE TABLE schedules_2 (
        issue {T} PRIMARY KEY,
        send_at {T} NOT NULL,
        provider {T} NOT NULL,
        held_by {T} NOT NULL CHECK (held_by IN ('provider', 'here')),
        batch_id {T},
        file {T},
        created_at {T} NOT NULL
    );
    INSERT INTO schedules_2 (issue, send_at, provider, held_by, batch_id, file, created_at)
        SELECT issue, send_at, 'sendgrid', 'provider', batch_id, NULL, {PG_NOW} FROM schedules;
    DROP TABLE schedules;
    ALTER TABLE schedules_2 RENAME TO schedules;
    ALTER INDEX schedules_2_pkey RENAME TO schedules_pkey;
    UPDATE deliveries SET state = 'scheduled'
        WHERE state = 'sent'
          AND EXISTS (SELECT 1 FROM schedules s WHERE s.issue = deliveries.issue AND deliveries.detail = 'scheduled (batch ' || s.batch_id || ')');

    CREATE TABLE issues (
        issue {T} PRIMARY KEY,
        file {T} NOT NULL,
        subject {T} NOT NULL,
        fingerprint {T} NOT NULL,
        first_fingerprint {T} NOT NULL,
        handed_over_before_change INTEGER,
        changed_at {T},
        updated_at {T} NOT NULL
    );
    """,
    f"""
    ALTER TABLE subscribers DROP CONSTRAINT subscribers_status_check;
    ALTER TABLE subscribers ADD CONSTRAINT subscribers_status_check
        CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained', 'pending'));
    ALTER TABLE subscribers ADD COLUMN status_changed_at {T};
    UPDATE subscribers SET status_changed_at = updated_at;
    ALTER TABLE subscribers ADD COLUMN soft_bounces INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE status_changes (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        email {T} NOT NULL,
        status {T} NOT NULL,
        channel {T} NOT NULL,
        detail {T},
        at {T} NOT NULL
    );
    CREATE INDEX status_changes_by_email ON status_changes (email, at);

    CREATE TABLE events (
        event_id {T} PRIMARY KEY,
        provider {T} NOT NULL,
        event {T} NOT NULL,
        email {T},
        issue {T},
        send_id {T},
        happened_at {T},
        received_at {T} NOT NULL,
        detail {T}
    );
    CREATE INDEX events_by_issue ON events (issue, event);

    CREATE TABLE notices (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        kind {T} NOT NULL,
        email {T} NOT NULL,
        provider {T} NOT NULL,
        outcome {T} NOT NULL,
        detail {T},
        at {T} NOT NULL
    );
    CREATE INDEX notices_by_email ON notices (email, at);
    """,
    f"""
    CREATE TABLE notice_queue (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        kind {T} NOT NULL,
        email {T} NOT NULL,
        state {T} NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'unknown')),
        queued_at {T} NOT NULL,
        not_before {T} NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_at {T},
        detail {T}
    );
    CREATE INDEX notice_queue_by_state ON notice_queue (state, not_before);
    """,
    f"""
    ALTER TABLE subscribers ADD COLUMN permanent_failures INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX subscribers_failing ON subscribers (email) WHERE permanent_failures > 0;
    ALTER TABLE status_changes ADD COLUMN issue {T};
    ALTER TABLE issues ADD COLUMN provider {T};
    """,
    f"""
    CREATE TABLE tags (
        email {T} NOT NULL,
        tag {T} NOT NULL,
        PRIMARY KEY (email, tag)
    );
    CREATE TABLE subscriptions (
        email {T} NOT NULL,
        topic {T} NOT NULL,
        subscribed INTEGER NOT NULL CHECK (subscribed IN (0, 1)),
        changed_at {T} NOT NULL,
        PRIMARY KEY (email, topic)
    );
    CREATE INDEX subscriptions_by_topic ON subscriptions (topic, subscribed, email);
    CREATE TABLE consents (
        email {T} PRIMARY KEY,
        at {T} NOT NULL,
        method {T} NOT NULL,
        source {T},
        text_version {T}
    );
    CREATE TABLE suppressions (
        address_hash {T} PRIMARY KEY,
        reason {T} NOT NULL,
        at {T} NOT NULL
    );
    CREATE TABLE address_changes (
        email {T} PRIMARY KEY,
        new_email {T} NOT NULL,
        requested_at {T} NOT NULL
    );
    CREATE TABLE audience_settings (
        name {T} PRIMARY KEY,
        value {T} NOT NULL
    );
    ALTER TABLE deliveries ADD COLUMN segment {T};
    ALTER TABLE issues ADD COLUMN topic {T};
    CREATE INDEX subscribers_by_created ON subscribers (created_at);
    """,
    f"""
    CREATE TABLE clicks (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        issue {T} NOT NULL,
        slot {T} NOT NULL,
        url {T} NOT NULL,
        email {T},
        variant INTEGER,
        clicked_at {T} NOT NULL,
        machine {T}
    );
    CREATE INDEX clicks_by_email ON clicks (email, clicked_at) WHERE email IS NOT NULL;
    CREATE TABLE issue_stories (
        issue {T} NOT NULL,
        slot {T} NOT NULL,
        position INTEGER,
        title {T} NOT NULL,
        source {T},
        section {T},
        url {T} NOT NULL,
        has_image INTEGER NOT NULL DEFAULT 0,
        has_quote INTEGER NOT NULL DEFAULT 0,
        has_facts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (issue, slot)
    );
    ALTER TABLE deliveries ADD COLUMN variant INTEGER;
    """,
    f"""
    ALTER TABLE issues ADD COLUMN tracking_clicks {T};
    ALTER TABLE issues ADD COLUMN tracking_opens INTEGER;
    ALTER TABLE issues ADD COLUMN provider_clicks INTEGER;
    CREATE INDEX clicks_by_story ON clicks (issue, slot, machine);
    """,
    f"""
    CREATE TABLE subject_tests (
        issue {T} PRIMARY KEY,
        subjects {T} NOT NULL,
        share INTEGER NOT NULL,
        decide_after INTEGER NOT NULL,
        decide_at {T} NOT NULL,
        started_at {T} NOT NULL,
        winner INTEGER,
        clear INTEGER,
        measure {T},
        results {T},
        decided_at {T}
    );
    """,
    f"""
    CREATE TABLE send_plans (
        issue {T} PRIMARY KEY,
        file {T} NOT NULL,
        provider {T} NOT NULL,
        window_seconds INTEGER,
        starts_at {T},
        ends_at {T},
        total INTEGER,
        done_before INTEGER NOT NULL DEFAULT 0,
        canary_share DOUBLE PRECISION,
        canary_wait_seconds INTEGER,
        canary_size INTEGER,
        canary_sent_at {T},
        canary_cleared_at {T},
        paused_at {T},
        paused_reason {T},
        baseline_copies INTEGER NOT NULL DEFAULT 0,
        baseline_hard INTEGER NOT NULL DEFAULT 0,
        baseline_complaints INTEGER NOT NULL DEFAULT 0,
        cancelled_at {T},
        created_at {T} NOT NULL
    );
    ALTER TABLE deliveries ADD COLUMN canary INTEGER;
    CREATE INDEX deliveries_canary ON deliveries (issue, canary) WHERE canary IS NOT NULL;
    """,
    f"""
    CREATE TABLE event_outbox (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        event_id {T} NOT NULL,
        type {T} NOT NULL,
        email {T},
        data {T} NOT NULL,
        occurred_at {T} NOT NULL,
        once {T},
        webhooks_at {T},
        automations_at {T}
    );
    CREATE UNIQUE INDEX event_outbox_by_event_id ON event_outbox (event_id);
    CREATE UNIQUE INDEX event_outbox_once ON event_outbox (once) WHERE once IS NOT NULL;
    CREATE INDEX event_outbox_for_webhooks ON event_outbox (id) WHERE webhooks_at IS NULL;
    CREATE INDEX event_outbox_for_automations ON event_outbox (id) WHERE automations_at IS NULL;
    CREATE INDEX event_outbox_by_email ON event_outbox (email) WHERE email IS NOT NULL;
    """,
    f"""
    CREATE TABLE automation_readers (
        automation {T} NOT NULL,
        email {T} NOT NULL,
        step {T} NOT NULL,
        state {T} NOT NULL CHECK (state IN ('active', 'done', 'left')),
        due_at DOUBLE PRECISION NOT NULL,
        enrolled_at {T} NOT NULL,
        updated_at {T} NOT NULL,
        detail {T},
        PRIMARY KEY (automation, email)
    );
    CREATE INDEX automation_readers_due ON automation_readers (automation, state, due_at);
    CREATE INDEX automation_readers_by_email ON automation_readers (email);
    """,
    f"""
    CREATE TABLE admin_links (
        token_hash {T} PRIMARY KEY,
        email {T} NOT NULL,
        created_at {T} NOT NULL,
        expires_at {T} NOT NULL
    );
    CREATE TABLE admin_sessions (
        id_hash {T} PRIMARY KEY,
        email {T} NOT NULL,
        created_at {T} NOT NULL,
        last_seen_at {T} NOT NULL,
        expires_at {T} NOT NULL
    );
    CREATE TABLE admin_actions (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at {T} NOT NULL,
        editor {T} NOT NULL,
        action {T} NOT NULL,
        email {T},
        detail {T}
    );
    CREATE INDEX admin_actions_by_email ON admin_actions (email);
    """,
    f"""
    CREATE TABLE api_tokens (
        name {T} PRIMARY KEY,
        token_hash {T} NOT NULL,
        scopes {T} NOT NULL,
        created_at {T} NOT NULL,
        last_used_at {T}
    );
    CREATE UNIQUE INDEX api_tokens_by_hash ON api_tokens (token_hash);
    """,
    f"""
    CREATE TABLE webhook_deliveries (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        event_id {T} NOT NULL,
        type {T} NOT NULL,
        webhook {T} NOT NULL,
        state {T} NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at {T} NOT NULL,
        claim {T},
        lease_until {T},
        created_at {T} NOT NULL,
        finished_at {T}
    );
    CREATE UNIQUE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id, webhook);
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
    CREATE TABLE webhook_attempts (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        delivery_id BIGINT NOT NULL,
        attempt INTEGER NOT NULL,
        at {T} NOT NULL,
        outcome {T} NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'given up')),
        status INTEGER,
        error {T},
        answer {T}
    );
    CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id);
    """,
    f"""
    ALTER TABLE issues ADD COLUMN git_commit {T};
    ALTER TABLE issues ADD COLUMN git_clean INTEGER;
    """,
)

assert len(POSTGRES_MIGRATIONS) == len(MIGRATIONS), "every schema step exists for both databases"

# Every table, in an order that `db copy` can fill and compare, with the columns that order rows.
TABLES: dict[str, str] = {
    "subscribers": "email",
    "deliveries": "issue, email",
    "handovers": "issue, send_id",
    "schedules": "issue",
    "issues": "issue",
    "status_changes": "id",
    "events": "event_id",
    "notices": "id",
    "notice_queue": "id",
    "tags": "email, tag",
    "subscriptions": "email, topic",
    "consents": "email",
    "suppressions": "address_hash",
    "audience_settings": "name",
    "address_changes": "email",
    "clicks": "id",
    "issue_stories": "issue, slot",
    "subject_tests": "issue",
    "send_plans": "issue",
    "event_outbox": "id",
    "automation_readers": "automation, email",
    "admin_links": "token_hash",
    "admin_sessions": "id_hash",
    "admin_actions": "id",
    "api_tokens": "name",
    "webhook_deliveries": "id",
    "webhook_attempts": "id",
}
