"""A throw-away TLS certificate for a local stand-in server (PostgreSQL, Redis), made with the Airflow venv's
``cryptography`` (airstack's own environment need not have it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

_SCRIPT = """
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sys.argv[3])])
now = datetime.datetime.now(datetime.timezone.utc)
names = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2)).add_extension(names, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
"""


def make_certificate(python: Path, cert: Path, key: Path, common_name: str) -> str | None:
    """Write a self-signed certificate for 127.0.0.1/localhost (its own CA) and its key (mode 0600); the error
    text when it could not be made."""
    done = subprocess.run([str(python), "-c", _SCRIPT, str(cert), str(key), common_name], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        return done.stderr[-1000:]
    key.chmod(0o600)
    return None
