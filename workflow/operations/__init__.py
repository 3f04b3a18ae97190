"""What operators watch: the stored state counted for metrics (cases by state and level, pending work, lag).

Owns no table. May use every package below it (notices, cases, clock, org, base); nothing
in ``workflow`` imports it. ``web/`` turns its counts into Prometheus gauges at scrape time.
"""
