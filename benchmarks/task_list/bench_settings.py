"""Settings for the benchmark server: the product's, plus the comparison URLs.

The product's throttle rates stay as they are (the load is spread over 200
users, each below the per-user limit), so the product is measured as
configured.
"""

from __future__ import annotations

from todo_project.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
# No per-request log lines in the measurement.
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
