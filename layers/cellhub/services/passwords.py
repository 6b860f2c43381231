"""Password hashing (Argon2id) and the password policy.

Hashes are PHC strings (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) that carry their own
parameters, so raising the cost later only needs ``needs_rehash`` at the next login.
Production uses argon2-cffi's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes);
tests pass a cheap ``PasswordHasher`` through the constructor.

The policy is deliberately minimal, following NIST SP 800-63B: length matters, composition
rules do not. A password must

* be at least ``MIN_PASSWORD_LENGTH`` (10) characters long;
* not be one character repeated (``aaaaaaaaaa``);
* be at most ``MAX_PASSWORD_LENGTH`` (1024) characters, which bounds the hashing work one
  request can ask for.

Failing it raises ``WeakPassword`` (``InvalidParameter`` for the length cap).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cellhub.errors import InvalidParameter, WeakPassword

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


def check_password_policy(password: str) -> None:
    """Raise ``WeakPassword`` if ``password`` may not be set as a new password."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidParameter(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            min_length=MIN_PASSWORD_LENGTH,
        )
    if len(set(password)) == 1:
        raise WeakPassword("a password cannot be one character repeated")


class Passwords:
    """Argon2id hashing and verification with one set of cost parameters."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        # argon2-cffi's PasswordHasher defaults to Argon2id.
        self._hasher = hasher if hasher is not None else PasswordHasher()
        self._decoy: str | None = None

    def hash(self, password: str) -> str:
        """The PHC hash of a new password, after checking it against the policy."""
        check_password_policy(password)
        return self._hasher.hash(password)

    def rehash(self, password: str) -> str:
        """A hash with this hasher's parameters of a password that was accepted earlier.

        The policy is not applied: the password may predate it, and the user just proved it.
        """
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; a corrupt stored hash counts as no match."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_nothing(self, password: str) -> None:
        """Spend the time of one verification, for a login whose email matched no account.

        Without it an unknown address answers measurably faster than a wrong password,
        which would reveal which addresses have accounts.
        """
        if self._decoy is None:
            self._decoy = self._hasher.hash("decoy password, never matched")
        self.verify(self._decoy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
