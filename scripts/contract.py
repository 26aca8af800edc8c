"""Contract check: schemathesis with every check against a running service's /openapi.json.

    python scripts/contract.py http://127.0.0.1:8000 [--max-examples N] [--seed S]

The bearer key, when the service has keys, comes from CONCORD_CONTRACT_KEY (an admin key, so that
every route is exercised). Run it against a throwaway corpus: it uploads, moves and deletes.
Exits with schemathesis's status: 0 when no check failed. Every check runs with its defaults but
one (`scripts/schemathesis.toml`): a 413 for a body past the size limit counts as rejecting a
schema-violating body, as 400 and 422 do. The schema itself must say what the service takes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).with_name("schemathesis.toml")


def contract_command(base: str, max_examples: int, seed: int | None, key: str | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base.rstrip('/')}/openapi.json",
        "--checks",
        "all",
        "--workers",
        "1",
        "--max-examples",
        str(max_examples),
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    if key:
        command += ["--header", f"Authorization: Bearer {key}"]
    return command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the service's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--max-examples", type=int, default=50, help="examples per operation and phase")
    parser.add_argument("--seed", type=int, help="hypothesis seed, to replay a run")
    args = parser.parse_args(argv)
    key = os.environ.get("CONCORD_CONTRACT_KEY")
    return subprocess.call(contract_command(args.base, args.max_examples, args.seed, key))


if __name__ == "__main__":
    sys.exit(main())
