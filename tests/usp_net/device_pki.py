"""An operator's device PKI for the tests: a CA, device certificates, a CRL, a server cert.

Device certificates name their endpoint id as TR-369 says (subjectAltName URI
``urn:bbf:usp:id:<id>``).  Everything is written under one directory as PEM.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_START = datetime(2020, 1, 1, tzinfo=UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Authority:
    """A CA that signs device (and server) certificates and CRLs."""

    directory: Path
    name: str = "operator device CA"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    certificate: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        public = self.key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_START)
            .not_valid_after(_START + timedelta(days=365 * 30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    @property
    def ca_file(self) -> Path:
        """The CA certificate (PEM)."""
        return self.directory / "ca.pem"

    def _leaf(
        self,
        stem: str,
        names: list[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        *,
        not_before: datetime,
        not_after: datetime,
    ) -> tuple[Path, Path, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_file = self.directory / f"{stem}.pem"
        key_file = self.directory / f"{stem}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_key_pem(key))
        return cert_file, key_file, certificate

    def device(
        self,
        endpoint_id: str,
        *,
        not_before: datetime = _START,
        not_after: datetime = _START + timedelta(days=365 * 20),
    ) -> DeviceCertificate:
        """A client certificate naming ``endpoint_id``."""
        names: list[x509.GeneralName] = [
            x509.UniformResourceIdentifier(f"urn:bbf:usp:id:{endpoint_id}")
        ]
        stem = quote(endpoint_id, safe="") + f"-{x509.random_serial_number() % 10**6}"
        cert_file, key_file, certificate = self._leaf(
            stem,
            names,
            ExtendedKeyUsageOID.CLIENT_AUTH,
            not_before=not_before,
            not_after=not_after,
        )
        return DeviceCertificate(endpoint_id, cert_file, key_file, certificate)

    def server(self) -> tuple[Path, Path]:
        """A server certificate for 127.0.0.1 and localhost: (certificate, key)."""
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        cert_file, key_file, _ = self._leaf(
            "server",
            names,
            ExtendedKeyUsageOID.SERVER_AUTH,
            not_before=_START,
            not_after=_START + timedelta(days=365 * 20),
        )
        return cert_file, key_file

    def write_crl(self, path: Path, revoked: list[x509.Certificate], *, now: datetime) -> None:
        """A CRL listing ``revoked``, current from ``now`` for a week."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now - timedelta(hours=1))
            .next_update(now + timedelta(days=7))
        )
        for certificate in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(certificate.serial_number)
                .revocation_date(now - timedelta(minutes=5))
                .build()
            )
        crl = builder.sign(self.key, hashes.SHA256())
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        temporary.replace(path)


@dataclass(frozen=True)
class DeviceCertificate:
    """A device's certificate and key files."""

    endpoint_id: str
    cert_file: Path
    key_file: Path
    certificate: x509.Certificate

    def pem(self) -> str:
        """The certificate as PEM text."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def client_context(self, server_ca: Path) -> ssl.SSLContext:
        """A TLS client context trusting ``server_ca`` and presenting this certificate."""
        context = ssl.create_default_context(cafile=server_ca)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context
