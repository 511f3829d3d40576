"""Prints the argon2id hash of a client secret read from standard input.

    printf '%s' "$SECRET" | python -m gateway.hash_secret

Put the printed hash in the clients file as ``client_secret_hash``; the secret
itself never goes into any file. On a terminal the secret is read without echo.
"""

from __future__ import annotations

import getpass
import sys

from argon2 import PasswordHasher

MIN_SECRET_LENGTH = 16


def read_secret() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("client secret: ")
    return sys.stdin.read().rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    allow_short = "--allow-short" in args
    secret = read_secret()
    if not secret:
        sys.stderr.write("no secret on standard input\n")
        return 2
    if len(secret) < MIN_SECRET_LENGTH and not allow_short:
        sys.stderr.write(
            f"secret is shorter than {MIN_SECRET_LENGTH} characters "
            "(pass --allow-short for demo secrets)\n"
        )
        return 2
    sys.stdout.write(PasswordHasher().hash(secret) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
