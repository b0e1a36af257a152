"""``make bench``: what the engine layer buys over the reference bash, measured in one run.

``python -m benchmarks`` (DOCKER_HOST set, test image built: ``tools/engine-up.sh``).
"""
