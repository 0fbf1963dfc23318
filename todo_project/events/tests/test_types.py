"""Event types are declared once; handlers, the push list and the topic map use them."""

from __future__ import annotations

import pytest

from todo_project.events import registry, types
from todo_project.events.bridge import DEFAULT_TOPIC, FAMILY_TOPICS, TOPIC_OF_TYPE, TOPIC_SPECS
from todo_project.events.validation import schema_types
from todo_project.sync.messages import PUSH_EVENT_TYPES


def test_every_declared_type_has_a_schema_and_every_schema_a_declared_type():
    assert set(schema_types()) == types.EVENT_TYPES


def test_a_handler_for_a_misspelt_type_fails_when_it_is_declared():
    with pytest.raises(registry.UnknownEventTypeError, match="task.complete"):

        @registry.handles("task.complete", name="tests.misspelt")
        def handler(event: object) -> None: ...


def test_every_registered_handler_has_an_explicit_unique_name():
    handlers = {id(h): h for hs in registry._handlers.values() for h in hs}.values()
    names = [getattr(handler, "handler_name", None) for handler in handlers]
    assert handlers
    assert None not in names
    assert len(names) == len(set(names))


def test_a_name_cannot_be_given_to_two_handlers():
    @registry.handles(types.USER_LOGOUT, name="tests.one_name")
    def first(event: object) -> None: ...

    try:
        with pytest.raises(ValueError, match="tests.one_name"):

            @registry.handles(types.USER_LOGOUT, name="tests.one_name")
            def second(event: object) -> None: ...
    finally:
        registry._handlers[types.USER_LOGOUT].remove(first)
        registry._names.pop("tests.one_name")


def test_pushed_types_are_declared_types():
    assert set(PUSH_EVENT_TYPES) <= types.EVENT_TYPES


def test_every_type_goes_to_its_family_topic_and_no_family_is_unknown():
    families = {event_type.split(".", 1)[0] for event_type in types.EVENT_TYPES}
    assert families == set(FAMILY_TOPICS)
    for event_type, topic in TOPIC_OF_TYPE.items():
        assert topic == FAMILY_TOPICS[event_type.split(".", 1)[0]]
        assert topic in TOPIC_SPECS
    assert DEFAULT_TOPIC in TOPIC_SPECS
