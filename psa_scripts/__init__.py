"""psa-scripts: the ProActive Service Automation lifecycle scripts in Python.

Kept import-free on purpose: catalog scripts start in a fresh interpreter every
minute, so importing the package must cost nothing.
"""

__version__ = "0.1.0"
