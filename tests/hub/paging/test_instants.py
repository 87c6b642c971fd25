"""Times as vendors write them and as day filters want them: RFC 2822 reads like ISO-8601,
and day renders floor a bound to its UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hub.paging import Watermark, utc_date, utc_day_start
from hub.paging.instants import to_instant

MOMENT = datetime(2019, 5, 24, 17, 44, 46, tzinfo=UTC)


def test_rfc_2822_and_iso_8601_times_read_as_the_same_utc_instant() -> None:
    assert to_instant("Fri, 24 May 2019 17:44:46 +0000") == MOMENT
    assert to_instant("Fri, 24 May 2019 19:44:46 +0200") == MOMENT
    assert to_instant("2019-05-24T17:44:46Z") == MOMENT
    assert to_instant("not a time") is None
    assert to_instant("Fri, 99 May 2019 17:44:46 +0000") is None


def test_day_renders_give_the_utc_day_of_a_bound() -> None:
    late_evening_west = datetime(2024, 1, 2, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert utc_date(late_evening_west) == "2024-01-03"
    assert utc_day_start(late_evening_west) == "2024-01-03T00:00:00Z"


def test_a_watermark_on_rfc_2822_dates_restarts_a_lookback_before_the_newest_day() -> None:
    mark = Watermark(
        "date_sent", initial=datetime(2008, 1, 1, tzinfo=UTC), param="DateSent>",
        render=utc_date, lookback=timedelta(hours=72),
    )  # fmt: skip
    run = mark.begin(None, resuming=False)
    assert run.params() == {"DateSent>": "2008-01-01"}
    sent = ["Tue, 31 Dec 2024 18:00:00 +0000", "Mon, 30 Dec 2024 09:00:00 +0000"]
    kept = run.absorb([{"sid": n, "date_sent": d} for n, d in enumerate(sent)])
    assert len(kept) == 2
    again = mark.begin(run.finish(None), resuming=False)
    assert again.params() == {"DateSent>": "2024-12-28"}
    # The re-read brings both back; unchanged, they are dropped by digest.
    assert again.absorb([{"sid": n, "date_sent": d} for n, d in enumerate(sent)]) == []
