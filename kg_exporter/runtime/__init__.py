"""Wiring the stages into the daemon: watch handler, writer, reconciliation, health, shutdown."""

from kg_exporter.runtime.clock import Clock, SystemClock, rfc3339
from kg_exporter.runtime.daemon import Daemon
from kg_exporter.runtime.logs import configure_logging

__all__ = ["Clock", "Daemon", "SystemClock", "configure_logging", "rfc3339"]
