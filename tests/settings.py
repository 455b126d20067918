"""The suite's settings: the portal's own, with a password hasher fast enough for hundreds of sign-ins.

PBKDF2 spends its time on purpose; the tests create and sign in users by the hundred and test nothing
of the hasher itself. Everything else is portal.settings, read from the environment as in production.
"""

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
