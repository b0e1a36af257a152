"""The local ProActive: what `psa run` and the test harness play instead of a server.

- ``emulator.ProActiveEmulator``: a real HTTP server on loopback serving the Service
  Automation, scheduler, RM and Catalog REST routes of ``psa_scripts.clients.routes``.
- ``apis``: in-memory stand-ins for the Java objects the engine binds (``schedulerapi``,
  ``rmapi``, ``synchronizationapi``), py4j look-alikes (``JavaMap``, ``JavaArray``) and
  the in-memory container engine.

These are product parts (``psa run`` uses them); ``psa_scripts.testing`` re-exports them
for tests. Nothing here imports ``psa_scripts.testing``.
"""
