"""The history checker itself, on hand-made histories (it judges every other test here)."""

from faults.checker import check


def test_a_clean_history_reports_nothing():
    report = check({1: ["a", "b"], 2: ["c"]}, [(1, "a"), (2, "c"), (1, "b")])
    summary = report.summary()
    assert (summary["users"], summary["expected"], summary["observed"]) == (2, 3, 3)
    assert (report.lost, report.duplicated, report.unexpected, report.out_of_order) == (0, 0, 0, 0)


def test_lost_duplicated_unexpected_and_inverted_items_are_counted_per_user():
    report = check(
        {1: ["a", "b", "c"], 2: ["x"]},
        [(1, "b"), (1, "a"), (1, "b"), (1, "zz"), (2, "y")],
    )
    assert report.users[1].lost == ["c"]
    assert report.users[1].duplicated == 1
    assert report.users[1].unexpected == ["zz"]
    assert report.users[1].out_of_order == 1  # a's first copy came after b's
    assert report.users[2].lost == ["x"]
    assert report.users[2].unexpected == ["y"]
    assert (report.lost, report.duplicated, report.unexpected, report.out_of_order) == (2, 1, 2, 1)


def test_a_resend_from_the_first_unconfirmed_item_is_a_duplicate_not_an_inversion():
    # Kafka at-least-once: a, b, c then the bridge resends b, c — first copies stay in order.
    report = check({1: ["a", "b", "c"]}, [(1, "a"), (1, "b"), (1, "c"), (1, "b"), (1, "c")])
    assert (report.duplicated, report.out_of_order, report.lost) == (2, 0, 0)
