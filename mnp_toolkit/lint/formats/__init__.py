"""Reports of ``mnp lint`` (text, JSON, SARIF 2.1.0, GitHub Actions annotations) and of ``mnp rules``.

Every format renders the same :class:`~mnp_toolkit.lint.findings.Finding` objects; text meant for a terminal
or a CI log goes through :func:`~mnp_toolkit.lint.formats.text.printable` first, so that a template's
strings (newlines, ANSI escapes) cannot forge report lines or annotations.
"""
