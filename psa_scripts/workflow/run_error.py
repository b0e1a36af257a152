"""The error of ``psa run`` that is said before any effect."""

from __future__ import annotations

from ..errors import InputError


class RunError(InputError):
    """A workflow cannot be run locally (a script not found, a language not run...): said before any effect."""
