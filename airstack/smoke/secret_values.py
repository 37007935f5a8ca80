"""Values for the stand-in secrets: generated like the program generates them, databases pointed at the local server.

The program's own value (what its SecretVersion stores under mocks) tells what kind of secret it is:
- a database URL (``postgresql...://`` or ``db+postgresql...://``): the same URL with the local server's host
  and port and a password generated for that role; role, database, driver and options (``sslmode``) are kept
  (the roles and databases themselves are made by the stack's migration step, as in the cloud);
- an RDS-style JSON document with ``password`` (and ``host``/``port``): the same, field by field;
- a Redis broker URL (``redis://`` or ``rediss://``, e.g. ElastiCache with TLS and an AUTH token): the same URL
  with the local redis-server's host, port and password; scheme, database and options (``ssl_cert_reqs``)
  kept, and with TLS the server's throw-away certificate named in ``ssl_ca_certs``; a secret that holds the
  URL's password alone (the AUTH token) gets the local password too;
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
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from airstack.smoke.plan import PlanError, Secret

DATABASE_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss")
BROKER_SCHEMES = (*REDIS_SCHEMES, "amqp", "amqps")


@dataclass(frozen=True)
class BrokerEndpoint:
    """The local redis-server a Redis broker URL is rebuilt for."""

    host: str
    tls_port: int
    password: str
    ca_file: str
    """Its certificate, for ``ssl_cert_reqs=required`` to verify."""
    plain_port: int | None = None
    """Where it also takes plain ``redis://`` connections, when a URL asks for that."""


@dataclass
class StandInSecrets:
    host: str
    port: int
    broker: BrokerEndpoint | None = None
    values: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    """Secret name -> how its value was made (for the report; never the value)."""
    passwords: dict[str, str] = field(default_factory=dict)
    """Database role -> its generated password (one per role, whichever secrets name it)."""
    broker_passwords: set[str] = field(default_factory=set)
    """The passwords (AUTH tokens) the program's broker URLs hold: a secret holding one alone is that token."""

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


def local_broker_url(url: str, broker: BrokerEndpoint) -> str:
    """The URL for the local redis-server: its host, port and password; scheme, path and options kept."""
    parts = urlsplit(url)
    tls = parts.scheme == "rediss"
    port = broker.tls_port if tls else broker.plain_port
    if port is None:
        raise PlanError(f"a {parts.scheme}:// broker URL without TLS, but the local redis-server was started TLS only")
    user = quote(unquote(parts.username), safe="") if parts.username else ""
    netloc = f"{user}:{quote(broker.password, safe='')}@{broker.host}:{port}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if tls:
        query = [(k, v) for k, v in query if k != "ssl_ca_certs"] + [("ssl_ca_certs", broker.ca_file)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/"), parts.fragment))


def broker_password(value: str | None) -> str | None:
    """The password a Redis broker URL holds (its AUTH token), if it is one."""
    if not value or "://" not in value:
        return None
    parts = urlsplit(value)
    return unquote(parts.password) if parts.scheme in REDIS_SCHEMES and parts.password else None


def _json_document(value: str) -> dict[str, object] | None:
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _broker_value(name: str, value: str, scheme: str, stand_ins: StandInSecrets) -> tuple[str, str] | None:
    """A broker URL rebuilt for the local redis-server, or its AUTH token alone; None for other secrets."""
    broker = stand_ins.broker
    if scheme in REDIS_SCHEMES and broker is not None:
        return local_broker_url(value, broker), "broker URL for the local redis-server"
    if scheme.split("+", maxsplit=1)[0] in BROKER_SCHEMES:
        raise PlanError(f"secret {name}: a {scheme}:// broker has no local stand-in in the smoke")
    if value in stand_ins.broker_passwords and broker is not None:
        return broker.password, "the local redis-server's password (the broker URL's AUTH token)"
    return None


def stand_in_value(secret: Secret, stand_ins: StandInSecrets) -> tuple[str, str]:
    """(value, how it was made) for one secret."""
    value = secret.value
    if value is None:
        return _token(32, string.ascii_letters + string.digits), "random (the program stores no value in it)"
    scheme = urlsplit(value).scheme if "://" in value else ""
    if scheme and _database_scheme(scheme):
        return local_database_url(value, stand_ins), "database URL for the local PostgreSQL"
    broker = _broker_value(secret.name, value, scheme, stand_ins)
    if broker is not None:
        return broker
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


def generate(
    plan_secrets: Sequence[Secret], host: str, port: int, broker: BrokerEndpoint | None = None
) -> StandInSecrets:
    stand_ins = StandInSecrets(host=host, port=port, broker=broker)
    stand_ins.broker_passwords = {p for p in (broker_password(s.value) for s in plan_secrets) if p}
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
