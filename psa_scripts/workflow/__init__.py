"""Workflows as data and as runs: the one parser (``model``), the local run (``runner``),
the state picture (``graph``)."""
