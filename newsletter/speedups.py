"""The start-up and speed tricks, in one place: each leans on how a library (or the interpreter)
behaves today rather than on its documented interface, so each says what it saves and what it
assumes, and tests/test_speedups.py has a test that fails when a release breaks that assumption
(QuietBody's is in tests/send/test_send_sendgrid.py, beside the local SendGrid server).

    disable_pydantic_plugins()   no scan of every package's entry points for pydantic plugins
    import_premailer()           premailer without `requests`
    caching_premailer()          premailer remembering what it made of a stylesheet (private methods)
    quiet_cssutils()             cssutils' process-wide log level and serializer
    file_mode_for_new_files()    the umask read once (by setting it), at import of output.py
    freeze_objects_before_exit() gc.freeze: the interpreter's last collections skip our objects
    QuietBody                    a SendGrid request body python_http_client cannot format

Importing this module changes nothing and imports nothing heavy: each trick is a call.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import types
from typing import Any

# --- pydantic's plugins -------------------------------------------------------------------------

PYDANTIC_DISABLE_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"


def disable_pydantic_plugins() -> None:
    """We use no pydantic plugins; without this pydantic scans every installed package's entry
    points when the first model is defined, which costs ~15 ms of every command's start-up.

    Assumes: pydantic.plugin._loader.get_plugins() reads PYDANTIC_DISABLE_PLUGINS from the
    environment each time it is asked (at each model's definition) and returns no plugins for
    "__all__" without scanning. So this must run before the first model is defined: cli.main()
    calls it before it imports a command, and newsletter/web/__init__.py before it imports config.
    The variable is process-wide (commands we start inherit it), hence a call, not an import effect.
    A value the user set is kept.
    """
    os.environ.setdefault(PYDANTIC_DISABLE_PLUGINS, "__all__")


# --- premailer without requests -----------------------------------------------------------------


def import_premailer() -> types.ModuleType:
    """Import premailer without loading `requests` (with ssl, urllib3 and two charset detectors),
    which costs ~35 ms of every cold `newsletter build`.

    Assumes: premailer does `import requests` once, at the top of premailer/premailer.py, uses
    nothing from it at import, and calls it (`self.session.get`) only to fetch a remote stylesheet,
    which allow_network=False never does. premailer gets an empty stand-in for that one import;
    the real requests stays importable for everyone else.
    """
    if "premailer" not in sys.modules and "requests" not in sys.modules:
        sys.modules["requests"] = types.ModuleType("requests")
        try:
            import premailer
        finally:
            del sys.modules["requests"]
    import premailer

    module: types.ModuleType = premailer  # untyped, so Any to mypy
    return module


# --- premailer remembering a stylesheet ---------------------------------------------------------

# The private methods of premailer.Premailer that caching_premailer() overrides, with the
# parameters it calls them with (tests/test_speedups.py compares them with the installed premailer).
PREMAILER_OVERRIDES = {"_parse_style_rules": ("self", "css_body", "ruleset_index"), "_css_rules_to_string": ("self", "rules")}


@functools.cache
def caching_premailer() -> type:
    """premailer's Premailer, remembering what it makes of a stylesheet it has seen: turning the
    parsed rules back into text took 70% of every render, for the same stylesheet each time.

    Assumes (premailer's private interface, PREMAILER_OVERRIDES): transform() gets a stylesheet's
    rules from `_parse_style_rules(css_body, ruleset_index)` -> (rules, leftover), which depends
    only on its arguments and `strip_important`, and reads `rules` without changing it; and it
    turns the leftover (rules it cannot inline: @media, pseudo-classes) back into <style> text
    with `_css_rules_to_string(leftover)`, which depends only on that list.
    """
    base = import_premailer().Premailer
    rules: dict[tuple[str, int, bool], tuple[list[Any], list[Any]]] = {}
    texts: dict[int, tuple[list[Any], str]] = {}

    class CachingPremailer(base):  # type: ignore[misc, valid-type]  # a class found at run time (premailer is imported late, and untyped)
        def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list[Any], list[Any]]:
            key = (css_body, ruleset_index, self.strip_important)
            if key not in rules:
                if len(rules) > 64:  # stylesheets differ by workspace and palette: a few at most
                    rules.clear()
                    texts.clear()
                rules[key] = super()._parse_style_rules(css_body, ruleset_index)
            found, leftover = rules[key]
            return list(found), leftover

        def _css_rules_to_string(self, leftover: list[Any]) -> str:
            known = texts.get(id(leftover))
            if known is None or known[0] is not leftover:
                known = texts[id(leftover)] = (leftover, super()._css_rules_to_string(leftover))
            return known[1]

    return CachingPremailer


# --- cssutils' process-wide settings ------------------------------------------------------------


@functools.cache
def quiet_cssutils() -> None:
    """cssutils warns about every email-only property (mso-*), which we use on purpose: a log
    record each, on every render. Minified serialization also keeps the <style> premailer leaves
    (our @media rules) short.

    Assumes: premailer parses through cssutils, which logs through `cssutils.log` (the "CSSUTILS"
    logger), and writes the leftover rules back through the process-wide `cssutils.ser`, whose
    prefs.useMinified() drops the spaces. Both settings are global to the process: every
    cssutils user in it gets them (only premailer, here).
    """
    import logging

    import cssutils

    cssutils.log.setLevel(logging.CRITICAL)
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    cssutils.ser.prefs.useMinified()


# --- the umask ----------------------------------------------------------------------------------


def file_mode_for_new_files() -> int:
    """The mode open() gives a new file (0o666 less the umask), for the one writer's files, which
    are made by mkstemp (0o600) and then given this mode: one read of the umask per process rather
    than one per file.

    Assumes: the only way to read the umask is to set it (os.umask), and setting it is
    process-wide, so output.py calls this once, at its import, while no threads run; and nothing
    in the process changes the umask afterwards (no library of ours calls os.umask).
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# --- gc.freeze at exit --------------------------------------------------------------------------


def freeze_objects_before_exit() -> None:
    """Move every object to the permanent generation just before the interpreter shuts down: its
    last garbage collections then skip them, which after pydantic, lxml and cssutils saves ~50 ms
    of every run.

    Assumes (CPython): frozen objects are still freed by reference counting as modules are torn
    down, and shutdown still runs atexit handlers (weakref.finalize's among them) and flushes the
    standard streams; only finding reference cycles among them is skipped, and their memory goes
    back with the process. Call it only when the process is about to exit.
    """
    gc.freeze()


# --- SendGrid's request body --------------------------------------------------------------------


class QuietBody(str):
    """A request body that python_http_client cannot write into its debug log. The client formats
    every body into a debug message even when debug logging is off (4 ms per 1,000 recipients,
    holding the interpreter), and with debug on it would log every recipient's unsubscribe link.

    Assumes (python_http_client.client): with a Content-Type other than exactly
    "application/json", a body is sent as `request_body.encode("utf-8")`, and that bytes object
    reaches the log through `'PAYLOAD: {data}'.format(data=request.data)`, which calls its
    __format__; urllib sends a bytes subclass as the bytes it holds.
    """

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return _QuietBytes(super().encode(encoding, errors))


class _QuietBytes(bytes):
    def __format__(self, spec: str) -> str:
        return f"<{len(self):,} bytes>"
