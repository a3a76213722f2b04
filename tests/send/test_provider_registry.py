"""providers.REGISTRY is the one list of providers: every entry has its module and class, and what
each can do (holding a delivery until a set time) is the entry's word, checked against the class."""

from __future__ import annotations

import importlib
import inspect

import pytest

from newsletter.providers import NAMES, REGISTRY, SHOWN, can_schedule


def provider_class(name: str) -> type:
    """The one provider class that providers/NAME (a module, or a package of them) defines and exports."""
    module = importlib.import_module(f"newsletter.providers.{name}")
    (found,) = [value for value in vars(module).values() if inspect.isclass(value) and defined_in(value, module.__name__) and getattr(value, "name", None) == name]
    return found


def defined_in(cls: type, module: str) -> bool:
    return cls.__module__ == module or cls.__module__.startswith(module + ".")


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_provider_has_its_class_and_its_words(name: str) -> None:
    cls = provider_class(name)
    assert callable(getattr(cls, "send", None)) and callable(getattr(cls, "check", None))
    assert SHOWN[name] and REGISTRY[name].dry_run_checks


@pytest.mark.parametrize("name", NAMES)
def test_a_provider_schedules_exactly_when_its_entry_says_so(name: str) -> None:
    cls = provider_class(name)
    has_the_methods = all(callable(getattr(cls, method, None)) for method in ("new_schedule_id", "cancel"))
    instance = object.__new__(cls)  # no settings needed: the answer depends on the class alone
    assert can_schedule(instance) == (REGISTRY[name].schedules_ahead is not None) == has_the_methods


def test_the_send_commands_provider_choices_are_the_registry() -> None:
    from newsletter.cli.commands.send import send

    (option,) = [param for param in send.params if param.name == "provider"]
    assert tuple(option.type.choices) == NAMES == ("outbox", "smtp", "sendgrid", "ses", "mailgun", "postmark", "resend")
