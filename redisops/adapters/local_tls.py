"""Self-signed TLS material for local processes (the sandbox target): a CA and a server certificate.

Made with Python's ``cryptography`` (it comes with moto, the sandbox's S3) or, without it, the
``openssl`` program. Private keys are written with mode 0600. The server certificate names
``127.0.0.1`` and ``localhost``, so a client that verifies the hostname against the CA accepts it.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from redisops.adapters.local import require_program
from redisops.errors import PlatformError

__all__ = ["TlsFiles", "make_tls_files", "write_private"]

_DAYS = 3650


@dataclass(frozen=True)
class TlsFiles:
    """The files of a local TLS setup: the CA's certificate, the server's certificate and key."""

    ca_cert: Path
    cert: Path
    key: Path


def write_private(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` with mode 0600 (created so, never readable by others in between)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    os.chmod(path, 0o600)  # an existing file keeps its old mode under O_CREAT


def make_tls_files(directory: Path) -> TlsFiles:
    """The CA and server certificate in ``directory`` (``ca.crt``, ``server.crt``, ``server.key``,
    and the CA key ``ca.key``); made once, reused while all of them exist."""
    files = TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    if all(p.is_file() for p in (files.ca_cert, files.cert, files.key)):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    if importlib.util.find_spec("cryptography") is not None:
        _with_cryptography(directory, files)
    else:
        _with_openssl(directory, files)
    return files


def _with_cryptography(directory: Path, files: TlsFiles) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redisops sandbox CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(directory / "ca.key", pem_key(ca_key))
    write_private(files.key, pem_key(key))
    files.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _with_openssl(directory: Path, files: TlsFiles) -> None:
    openssl = require_program("openssl", hint="install openssl, or pip install cryptography")
    ca_key, csr, ext = directory / "ca.key", directory / "server.csr", directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    steps = [
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(ca_key),
            "-out",
            str(files.ca_cert),
            "-days",
            str(_DAYS),
            "-subj",
            "/CN=redisops sandbox CA",
        ],
        [
            openssl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(files.key),
            "-out",
            str(csr),
            "-subj",
            "/CN=127.0.0.1",
        ],
        [
            openssl,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(files.ca_cert),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(files.cert),
            "-days",
            str(_DAYS),
            "-extfile",
            str(ext),
        ],
    ]
    old = os.umask(0o077)
    try:
        for argv in steps:
            done = subprocess.run(argv, capture_output=True, check=False, timeout=60)
            if done.returncode != 0:
                raise PlatformError(
                    f"openssl failed to make the sandbox's TLS certificates ({argv[1]})",
                    hint=f"see: {' '.join(argv)}",
                    context={"stderr": done.stderr.decode(errors="replace")[-500:]},
                )
    finally:
        os.umask(old)
    for p in (ca_key, files.key):
        os.chmod(p, 0o600)
