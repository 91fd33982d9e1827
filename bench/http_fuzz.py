"""The long HTTP fuzzing run: schemathesis over every route of the OpenAPI document.

The same rounds as the suite's quick run (tests/test_web_fuzz.py, machinery in
tests/http_fuzz.py: before init anonymously and with the setup token, then after init
anonymously and as an administrator, valid and invalid cases), with many more cases
per operation. Prints the report: cases per round, statuses, every 5xx and hang with
its request, the node's RSS before and after. Exit status 1 if there was any 5xx or
hang. Run from the checkout's top directory:

    .venv/bin/python -m bench.http_fuzz                      # 100 cases per operation
    .venv/bin/python -m bench.http_fuzz --examples 500 --seed 7
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.http_fuzz import run_standalone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100, help="per operation and round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the node's directory")
    options = parser.parse_args(argv)
    started = time.monotonic()
    report = run_standalone(options.examples, options.seed, keep=options.keep)
    print(report.summary())
    print(f"{time.monotonic() - started:.0f} s")
    for line in report.server_errors:
        print("5xx:", line)
    for line in report.hangs:
        print("hang:", line)
    return 1 if report.server_errors or report.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
