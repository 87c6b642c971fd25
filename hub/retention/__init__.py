"""Retention: how long each data type is kept, and when a stored item's clock started."""

from hub.retention.policy import Period, RetentionSettings, parse_period

__all__ = ["Period", "RetentionSettings", "parse_period"]
