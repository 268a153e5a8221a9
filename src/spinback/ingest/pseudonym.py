"""Pseudonymous user ids: HMAC-SHA256 of the source's account name under a secret key.

The HMAC is built from Spark's own ``sha2`` so it runs on the executors without a Python UDF and
also over Spark Connect. The key never comes from the repository: it is read from an environment
variable or a secret file named in the configuration. Only local mode may fall back to a fixed
development key, and it says so; a cluster run without a key stops before reading anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from pyspark.sql import Column
from pyspark.sql import functions as F

from spinback.config import Config

logger = logging.getLogger(__name__)

# Only for local runs and tests: ids made with it are reproducible by anyone who reads this file.
DEVELOPMENT_KEY = b"spinback-local-development-key-not-secret"

_SHA256_BLOCK_BYTES = 64
# 128 bits of the HMAC are plenty to keep pseudonyms apart and keep ids short in every table.
USER_ID_HEX_CHARS = 32


class MissingPseudonymKeyError(RuntimeError):
    """No pseudonymisation key was configured where one is required."""


def load_pseudonym_key(config: Config) -> bytes:
    """Read the key from ``privacy.pseudonym_key_env``, else ``privacy.pseudonym_key_file``."""
    from_environment = os.environ.get(config.privacy.pseudonym_key_env, "")
    if from_environment:
        return from_environment.encode("utf-8")

    key_file = config.privacy.pseudonym_key_file
    if key_file:
        path = Path(key_file).expanduser()
        if not path.exists():
            raise MissingPseudonymKeyError(f"privacy.pseudonym_key_file: {path} does not exist")
        key = path.read_bytes().strip()
        if not key:
            raise MissingPseudonymKeyError(f"privacy.pseudonym_key_file: {path} is empty")
        return key

    if config.mode != "local":
        raise MissingPseudonymKeyError(
            f"no pseudonymisation key: set the environment variable "
            f"{config.privacy.pseudonym_key_env} or privacy.pseudonym_key_file; "
            "outside local mode Spinback refuses the development key"
        )
    logger.warning(
        "using the development pseudonymisation key: user ids are not secret; set %s for real data",
        config.privacy.pseudonym_key_env,
    )
    return DEVELOPMENT_KEY


def hmac_sha256_hex(key: bytes, message: Column) -> Column:
    """HMAC-SHA256 (RFC 2104) of the UTF-8 ``message`` as 64 hex characters, as a Spark column."""
    if len(key) > _SHA256_BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_SHA256_BLOCK_BYTES, b"\0")
    inner_pad = bytes(byte ^ 0x36 for byte in padded)
    outer_pad = bytes(byte ^ 0x5C for byte in padded)

    inner = F.sha2(F.concat(F.unhex(F.lit(inner_pad.hex())), F.encode(message, "UTF-8")), 256)
    return F.sha2(F.concat(F.unhex(F.lit(outer_pad.hex())), F.unhex(inner)), 256)


def pseudonymous_user_id(key: bytes, source: str, account_name: Column) -> Column:
    """The user id every silver table carries: keyed hash of ``source:account_name``, shortened.

    The source namespaces the name, so the same handle on two services stays two people unless an
    operator maps them explicitly.
    """
    message = F.concat(F.lit(f"{source}:"), account_name)
    return F.substring(hmac_sha256_hex(key, message), 1, USER_ID_HEX_CHARS)
