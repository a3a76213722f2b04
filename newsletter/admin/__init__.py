"""The small admin's rules, for web/admin.py to call: who may sign in and for how long (access.py),
what an editor may do, each action logged with who did it (actions.py), and what the pages show
(overview.py). No HTTP here, and no SQL (db/admin.py)."""
