"""Values for the stand-in secrets: generated like the program generates them, databases pointed at the local server.

The program's own value (what its SecretVersion stores under mocks) tells what kind of secret it is:
- a database URL (``postgresql...://`` or ``db+postgresql...://``): the same URL with the local server's host
  and port and a password generated for that role; role, database, driver and options (``sslmode``) are kept
  (the roles and databases themselves are made by the stack's migration step, as in the cloud);
- an RDS-style JSON document with ``password`` (and ``host``/``port``): the same, field by field;
- a Fernet key (URL-safe base64 of 32 bytes): a new Fernet key;
- anything else: a new random value of the same length and the same kinds of characters.
A secret the program stores no value in gets a random 32-character value, and says so.
Pure: the caller gives the random source.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from airstack.smoke.plan import PlanError, Secret

DATABASE_SCHEMES = ("postgresql", "postgres")
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps")


@dataclass
class StandInSecrets:
    host: str
    port: int
    values: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    """Secret name -> how its value was made (for the report; never the value)."""
    passwords: dict[str, str] = field(default_factory=dict)
    """Database role -> its generated password (one per role, whichever secrets name it)."""

    def password_for(self, user: str) -> str:
        if user not in self.passwords:
            self.passwords[user] = _token(32, string.ascii_letters + string.digits)
        return self.passwords[user]


def _token(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _database_scheme(scheme: str) -> bool:
    return scheme.removeprefix("db+").split("+")[0] in DATABASE_SCHEMES


def is_fernet_key(value: str) -> bool:
    try:
        return len(value) == 44 and len(base64.urlsafe_b64decode(value.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def like(value: str) -> str:
    """A random value of the same length, from the kinds of characters the original uses."""
    alphabet = ""
    for kind in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        if any(c in kind for c in value):
            alphabet += kind
    alphabet += "".join(sorted({c for c in value if c not in string.ascii_letters + string.digits}))
    return _token(max(len(value), 16), alphabet or string.ascii_letters + string.digits)


def local_database_url(url: str, stand_ins: StandInSecrets) -> str:
    parts = urlsplit(url)
    user = unquote(parts.username or "postgres")
    password = stand_ins.password_for(user)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{stand_ins.host}:{stand_ins.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _json_document(value: str) -> dict[str, object] | None:
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def stand_in_value(secret: Secret, stand_ins: StandInSecrets) -> tuple[str, str]:
    """(value, how it was made) for one secret."""
    value = secret.value
    if value is None:
        return _token(32, string.ascii_letters + string.digits), "random (the program stores no value in it)"
    scheme = urlsplit(value).scheme if "://" in value else ""
    if scheme and _database_scheme(scheme):
        return local_database_url(value, stand_ins), "database URL for the local PostgreSQL"
    if scheme.split("+")[0] in BROKER_SCHEMES:
        raise PlanError(f"secret {secret.name}: a {scheme}:// broker has no local stand-in in the smoke yet")
    document = _json_document(value)
    if document is not None and "password" in document:
        password = stand_ins.password_for(str(document.get("username") or "postgres"))
        local = {**document, "password": password}
        if "host" in document:
            local.update(host=stand_ins.host, port=stand_ins.port)
        return json.dumps(local), "database credentials for the local PostgreSQL"
    if is_fernet_key(value):
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(), "new Fernet key"
    return like(value), f"random, {len(value)} characters like the program's"


def generate(plan_secrets: Sequence[Secret], host: str, port: int) -> StandInSecrets:
    stand_ins = StandInSecrets(host=host, port=port)
    for secret in plan_secrets:
        stand_ins.values[secret.name], stand_ins.how[secret.name] = stand_in_value(secret, stand_ins)
    return stand_ins


def select_json_key(value: str, key: str | None, value_from: str) -> str:
    """What ECS injects for ``valueFrom``: the whole secret, or one key of its JSON document."""
    if key is None:
        return value
    document = _json_document(value)
    if document is None or key not in document:
        raise PlanError(f"valueFrom {value_from}: the secret has no JSON key {key!r}")
    selected = document[key]
    return selected if isinstance(selected, str) else json.dumps(selected)


def mask(values: Mapping[str, str], text: str) -> str:
    """``text`` with every secret value replaced (for log tails and reports)."""
    for value in sorted(values.values(), key=len, reverse=True):
        if len(value) >= 6:
            text = text.replace(value, "***")
    return text
