"""Quick add: numeric dates in the user's date order, and Todoist's "next Friday".

The parser tests are pure (``now`` passed in); the API tests go through
``PATCH /api/me`` and ``POST /api/tasks`` against PostgreSQL, in two
zones, so the preference is what the write path uses.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tasks_app.quickadd.parser import parse_quick_add
from todo_project.accounts.selectors import date_order_for_locale
from todo_project.errors import DomainError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
# Wednesday 25 March 2026, four days before Berlin's spring-forward.
WED = datetime(2026, 3, 25, 10, 0, tzinfo=ZoneInfo(BERLIN))


def _due(text: str, *, order: str, now: datetime = WED, tz: str = BERLIN) -> date | None:
    return parse_quick_add(text, now=now, tz=tz, date_order=order).due_date


@pytest.mark.parametrize(
    ("text", "mdy", "dmy", "ymd"),
    [
        ("Dentist 1/2", date(2027, 1, 2), date(2027, 2, 1), date(2027, 1, 2)),
        ("Dentist 4/5", date(2026, 4, 5), date(2026, 5, 4), date(2026, 4, 5)),
        ("Dentist 12/1/2027", date(2027, 12, 1), date(2027, 1, 12), None),
        ("Dentist 2027/4/15", date(2027, 4, 15), date(2027, 4, 15), date(2027, 4, 15)),
        ("Dentist 4/15/27", date(2027, 4, 15), None, None),
        ("Dentist 15/4", None, date(2026, 4, 15), None),
        ("Dentist 27/4/15", None, date(2015, 4, 27), date(2027, 4, 15)),
    ],
)
def test_a_numeric_date_follows_the_date_order(text, mdy, dmy, ymd) -> None:
    for order, expected in (("MDY", mdy), ("DMY", dmy), ("YMD", ymd)):
        if expected is None:
            with pytest.raises(DomainError) as refused:
                _due(text, order=order)
            assert refused.value.field == "text"
        else:
            assert _due(text, order=order) == expected, order


def test_a_date_outside_the_order_says_which_order_and_how_to_change_it() -> None:
    with pytest.raises(DomainError) as refused:
        _due("Pay 12/15", order="DMY")
    message = refused.value.message
    assert "day/month/year (DMY)" in message
    assert "date_order" in message
    # The same text in month-first order is 15 December.
    assert _due("Pay 12/15", order="MDY") == date(2026, 12, 15)


def test_the_default_order_is_month_first() -> None:
    assert parse_quick_add("Pay 12/15", now=WED, tz=BERLIN).due_date == date(2026, 12, 15)


def test_an_unknown_order_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="date_order"):
        parse_quick_add("Pay 1/2", now=WED, tz=BERLIN, date_order="DDD")


def test_until_uses_the_date_order_too() -> None:
    rule = parse_quick_add(
        "Standup every day until 4/30", now=WED, tz=BERLIN, date_order="MDY"
    ).recurrence_rule
    assert rule is not None
    assert "UNTIL=20260430" in rule


@pytest.mark.parametrize(
    ("header", "order"),
    [
        (None, "MDY"),
        ("", "MDY"),
        ("en-US,en;q=0.9", "MDY"),
        ("en", "MDY"),
        ("en-GB,en;q=0.8", "DMY"),
        ("de-DE", "DMY"),
        ("fr", "DMY"),
        ("ja-JP", "YMD"),
        ("zh-Hant-TW", "YMD"),
        ("ko", "YMD"),
        ("es-US", "MDY"),
        ("*", "MDY"),
    ],
)
def test_a_new_accounts_order_comes_from_its_locale(header, order) -> None:
    assert date_order_for_locale(header) == order


# "next Friday" is Todoist's: the second Friday to occur (the one after the
# coming Friday, today counting as the coming one). "Friday" / "this Friday"
# are the coming one. Asked on each day of one week (Mon 23 … Sun 29 March
# 2026, across Berlin's spring-forward on the 29th) and in New York.
@pytest.mark.parametrize(
    ("asked_on", "friday", "next_friday"),
    [
        (date(2026, 3, 23), date(2026, 3, 27), date(2026, 4, 3)),  # Monday
        (date(2026, 3, 26), date(2026, 3, 27), date(2026, 4, 3)),  # Thursday: not tomorrow
        (date(2026, 3, 27), date(2026, 3, 27), date(2026, 4, 3)),  # Friday: a week ahead
        (date(2026, 3, 28), date(2026, 4, 3), date(2026, 4, 10)),  # Saturday
        (date(2026, 3, 29), date(2026, 4, 3), date(2026, 4, 10)),  # Sunday (DST day in Berlin)
    ],
)
@pytest.mark.parametrize("tz", [BERLIN, NEW_YORK])
def test_next_friday_is_the_friday_after_the_coming_one(asked_on, friday, next_friday, tz) -> None:
    now = datetime(asked_on.year, asked_on.month, asked_on.day, 23, 30, tzinfo=ZoneInfo(tz))
    assert _due("Submit report Friday", order="MDY", now=now, tz=tz) == friday
    assert _due("Submit report this Friday", order="MDY", now=now, tz=tz) == friday
    assert _due("Submit report coming Friday", order="MDY", now=now, tz=tz) == friday
    assert _due("Submit report next Friday", order="MDY", now=now, tz=tz) == next_friday
    assert _due("Submit report next fri", order="MDY", now=now, tz=tz) == next_friday


def test_next_friday_with_a_time_keeps_the_day() -> None:
    thursday = datetime(2026, 3, 26, 10, 0, tzinfo=ZoneInfo(BERLIN))
    parsed = parse_quick_add("Call next Friday at 10am", now=thursday, tz=BERLIN)
    assert parsed.due_at == datetime(2026, 4, 3, 10, 0, tzinfo=ZoneInfo(BERLIN))


@pytest.mark.django_db
@pytest.mark.parametrize(("tz", "offset_hours"), [(BERLIN, 2), (NEW_YORK, -4)])
def test_the_preference_is_set_on_the_profile_and_used_by_quick_add(alice_client, tz, offset_hours) -> None:
    me = alice_client.get("/api/me").json()
    assert me["date_order"] in ("MDY", "DMY", "YMD")

    assert (
        alice_client.patch("/api/me", {"timezone": tz, "date_order": "DMY"}, format="json").status_code == 200
    )
    assert alice_client.get("/api/me").json()["date_order"] == "DMY"
    task = alice_client.post("/api/tasks", {"text": "Dentist 2/4/2027 at 9am"}, format="json").json()
    assert task["due_at"] == f"2027-04-02T{9 - offset_hours:02d}:00:00Z"

    refused = alice_client.post("/api/tasks", {"text": "Dentist 12/15"}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["fields"]
    assert "text" in error["fields"]
    assert "DMY" in error["message"] or "DMY" in str(error["fields"])

    assert alice_client.patch("/api/me", {"date_order": "MDY"}, format="json").status_code == 200
    task = alice_client.post("/api/tasks", {"text": "Dentist 2/4/2027 at 9am"}, format="json").json()
    assert task["due_at"] == f"2027-02-04T{9 - offset_hours + 1:02d}:00:00Z"


@pytest.mark.django_db
def test_a_bad_date_order_is_a_400_naming_the_field(alice_client) -> None:
    response = alice_client.patch("/api/me", {"date_order": "MM/DD"}, format="json")
    assert response.status_code == 400
    assert "date_order" in response.json()["error"]["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(("header", "order"), [("en-US", "MDY"), ("en-GB", "DMY"), ("ja", "YMD")])
def test_registration_takes_the_order_from_accept_language(anon_client, header, order) -> None:
    response = anon_client.post(
        "/api/auth/register",
        {"username": f"u{order}", "email": f"{order}@example.com", "password": "a long enough pass 42"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=header,
    )
    assert response.status_code == 201, response.content
    assert response.json()["date_order"] == order


@pytest.mark.django_db
def test_registration_can_name_the_order(anon_client) -> None:
    response = anon_client.post(
        "/api/auth/register",
        {
            "username": "ymd",
            "email": "ymd@example.com",
            "password": "a long enough pass 42",
            "date_order": "YMD",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en-US",
    )
    assert response.status_code == 201, response.content
    assert response.json()["date_order"] == "YMD"
