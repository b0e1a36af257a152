"""Clients for the outside world: Service Automation, the scheduler, the resource manager.

Import the module you need (``psa_scripts.clients.psa``...); this package imports
nothing, so that loading it costs a catalog script nothing.
"""
