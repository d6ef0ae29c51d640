"""Render: pure functions from an object (or the daemon's state of it) to JSON-LD subgraphs.

``facts`` picks what templates may see (never secrets); ``environment`` is the Jinja2 environment that
JSON-encodes every printed value; ``renderer`` turns facts into documents with the templates of
``kg_templates/``; ``batch`` renders a whole set of manifests.
"""
