"""Lifecycle rules and the minimal per-object state the daemon keeps."""
