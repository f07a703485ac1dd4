"""The catalog rules, one module per rule (``mnpNNN_<what>.py``), each exposing ``RULE``."""
