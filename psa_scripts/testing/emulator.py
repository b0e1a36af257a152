"""The loopback emulator, re-exported: it lives in ``psa_scripts.local.emulator``."""

from ..local.emulator import ProActiveEmulator, Recorded  # noqa: F401
