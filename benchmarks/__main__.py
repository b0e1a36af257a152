"""Run every benchmark and print its table (``make bench``)."""

import os
import sys

from . import check_cost, cold_start, harness_vs_ops, log_delivery, workflow_reader


def main() -> int:
    if not os.environ.get("DOCKER_HOST"):
        print("DOCKER_HOST is not set: run `export $(tools/engine-up.sh)` or `make bench`", file=sys.stderr)
        return 2
    print(f"Engine: DOCKER_HOST={os.environ['DOCKER_HOST']}\n")
    for section in (workflow_reader, log_delivery, check_cost, cold_start, harness_vs_ops):
        print(section.run(), end="\n\n", flush=True)
    return 0


sys.exit(main())
