"""Errors caused by the user's input, reported as one line (never a traceback).

``UserError`` is raised anywhere a file, field, flag or config value is wrong; the command-line
entry points (``aher.cli.run_main``) print it as ``error: <message>`` (a subclass may name
itself otherwise, e.g. a training stopped by a signal) and exit with code 2.
``ConfigError`` is the config loader's and validator's kind of it.  This module imports nothing
of the project, so every layer can raise them.
"""


class UserError(Exception):
    """An error caused by the user's input (file, field, flag); printed as one line,
    ``<label>: <message>``."""

    label = "error"


class ConfigError(UserError):
    """A config file, key or value is wrong; the message names the file or the key."""
