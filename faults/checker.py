"""The history checker (Jepsen's ``total-queue``, per user and with order).

A test records what it asked for — per user, the effects it expects, in the
order they must appear (events by sequence, reminders due, webhooks expected)
— and what came out (notifications, webhook deliveries by ``webhook-id``,
records on a topic by ``ce_id``, socket frames), in the order observed. The
checker reports, per user and in total:

- **lost**: expected, never observed;
- **duplicated**: observed copies beyond the first (how many extra);
- **unexpected**: observed, never expected;
- **out_of_order**: expected items whose first copy was observed after the
  first copy of an item expected later (an inversion), counted once each.

Duplicates of one id are allowed where the contract is at-least-once (Kafka,
webhook *requests*), and are then counted, not failed: the test decides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field


@dataclass
class UserReport:
    expected: int = 0
    observed: int = 0
    lost: list[Hashable] = field(default_factory=list)
    duplicated: int = 0
    unexpected: list[Hashable] = field(default_factory=list)
    out_of_order: int = 0


@dataclass
class Report:
    users: dict[Hashable, UserReport]

    def total(self, name: str) -> int:
        return sum(
            len(value) if isinstance(value := getattr(report, name), list) else value
            for report in self.users.values()
        )

    @property
    def lost(self) -> int:
        return self.total("lost")

    @property
    def duplicated(self) -> int:
        return self.total("duplicated")

    @property
    def unexpected(self) -> int:
        return self.total("unexpected")

    @property
    def out_of_order(self) -> int:
        return self.total("out_of_order")

    def summary(self) -> dict[str, int]:
        return {
            "users": len(self.users),
            "expected": self.total("expected"),
            "observed": self.total("observed"),
            "lost": self.lost,
            "duplicated": self.duplicated,
            "unexpected": self.unexpected,
            "out_of_order": self.out_of_order,
        }

    def __str__(self) -> str:
        worst = {
            user: report
            for user, report in self.users.items()
            if report.lost or report.duplicated or report.unexpected or report.out_of_order
        }
        lines = [str(self.summary())]
        for user, report in list(worst.items())[:10]:
            lines.append(
                f"  user {user}: lost {report.lost[:5]} dup {report.duplicated} "
                f"unexpected {report.unexpected[:5]} out-of-order {report.out_of_order}"
            )
        return "\n".join(lines)


def check(
    expected: dict[Hashable, list[Hashable]],
    observed: Iterable[tuple[Hashable, Hashable]],
    *,
    ordered: bool = True,
) -> Report:
    """Compare per-user expected sequences with the observed ``(user, item)`` stream."""
    seen: dict[Hashable, list[Hashable]] = {}
    for user, item in observed:
        seen.setdefault(user, []).append(item)
    reports: dict[Hashable, UserReport] = {}
    for user in set(expected) | set(seen):
        want = expected.get(user, [])
        got = seen.get(user, [])
        counts = Counter(got)
        wanted = set(want)
        report = UserReport(expected=len(want), observed=len(got))
        report.lost = [item for item in want if item not in counts]
        report.duplicated = sum(count - 1 for count in counts.values() if count > 1)
        report.unexpected = [item for item in counts if item not in wanted]
        if ordered:
            rank = {item: index for index, item in enumerate(want)}
            first_seen: list[int] = []
            done: set[Hashable] = set()
            for item in got:
                if item in rank and item not in done:
                    done.add(item)
                    first_seen.append(rank[item])
            highest = -1
            for position in first_seen:
                if position < highest:
                    report.out_of_order += 1
                highest = max(highest, position)
        reports[user] = report
    return Report(users=reports)
