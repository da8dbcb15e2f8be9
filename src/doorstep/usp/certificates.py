"""Device identity by TLS client certificate (TR-369: subjectAltName ``urn:bbf:usp:id:<id>``).

:class:`DeviceCertificateAuthority` checks a client certificate presented by an agent
against the operator's CA certificates and, when configured, its revocation lists,
and gives the endpoint id the certificate names.  It is the same check whether
``doorstep serve`` terminated TLS itself (the TLS layer already checked the chain,
but not the time: see :mod:`doorstep.usp.mtp.tls`) or a trusted proxy forwarded
the certificate.

:meth:`DeviceCertificateAuthority.check` returns a :class:`CertificateCheck`: the
endpoint id, or the refusal reason (one of :data:`REASONS`).  It never raises for a
bad certificate and never puts a certificate, a name or an id into an error.  The
order of the checks decides the reason: unreadable, no endpoint id, outside its
validity period, not issued by the operator's CA, revoked.  The claimed endpoint id
is returned with a refusal too (unverified), so that the refusal can be audited under
its keyed reference like a wrong secret is.

The CA and CRL files are re-read when they change (size or modification time), so
an operator publishes a new CRL without restarting ``serve``.  A configured CRL file
fails closed, as OpenSSL does: a certificate whose issuer has no CRL there, or only
one past its ``nextUpdate``, is refused (``crl_unavailable``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from doorstep.core.errors import ConfigurationError
from doorstep.usp.endpoint import is_valid_endpoint_id

log = logging.getLogger("doorstep.usp.certificates")

URN_PREFIX = "urn:bbf:usp:id:"
"""How TR-369 writes an endpoint id into a certificate's subjectAltName URI."""

REASONS = (
    "certificate_unreadable",
    "certificate_without_endpoint_id",
    "certificate_expired",
    "certificate_untrusted",
    "certificate_revoked",
    "crl_unavailable",
)


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    """The outcome: ``reason`` None means ``endpoint_id`` is proven by the certificate."""

    endpoint_id: str | None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        """Whether the certificate proves ``endpoint_id``."""
        return self.reason is None and self.endpoint_id is not None


def endpoint_ids_of(certificate: x509.Certificate) -> list[str]:
    """Every valid endpoint id in the certificate's subjectAltName URIs."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    found = []
    for uri in names.value.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(URN_PREFIX) and is_valid_endpoint_id(uri[len(URN_PREFIX) :]):
            found.append(uri[len(URN_PREFIX) :])
    return found


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM (one or more), or one DER certificate; [] when unreadable."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        return []


def certificates_from_header(value: str) -> list[x509.Certificate]:
    """A proxy's certificate header: URL-encoded PEM, PEM, or base64 DER; [] if unreadable.

    nginx's ``$ssl_client_escaped_cert`` is URL-encoded PEM; its older
    ``$ssl_client_cert`` indents continuation lines with a tab; HAProxy and Traefik
    send base64 DER.
    """
    text = unquote(value.strip()) if "%" in value else value.strip()
    if "-----BEGIN" in text:
        return load_certificates(text.replace("\t", "").encode("ascii", "replace"))
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return []
    return load_certificates(der)


@dataclass(frozen=True, slots=True)
class _Material:
    store: Store
    cas: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] | None


class DeviceCertificateAuthority:
    """The operator's device CA (and its CRLs): checks what an agent presents."""

    def __init__(self, ca_file: Path, crl_file: Path | None = None) -> None:
        self.ca_file = ca_file
        self.crl_file = crl_file
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[int, int], tuple[int, int] | None] | None = None
        self._material: _Material | None = None
        self._load()  # a broken file stops start-up, not the first device

    def check(self, chain: Sequence[x509.Certificate], now: datetime) -> CertificateCheck:
        """Whether ``chain`` (leaf first, then any intermediates) proves an endpoint id."""
        if not chain:
            return CertificateCheck(None, "certificate_unreadable")
        leaf, intermediates = chain[0], list(chain[1:])
        ids = endpoint_ids_of(leaf)
        if len(ids) != 1:
            return CertificateCheck(None, "certificate_without_endpoint_id")
        endpoint_id = ids[0]
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return CertificateCheck(endpoint_id, "certificate_expired")
        material = self._load()
        verifier = PolicyBuilder().store(material.store).time(now).build_client_verifier()
        try:
            verified = verifier.verify(leaf, intermediates)
        except VerificationError:
            return CertificateCheck(endpoint_id, "certificate_untrusted")
        if material.crls is not None:
            issuer = verified.chain[1] if len(verified.chain) > 1 else None
            reason = _revocation(leaf, issuer, material.crls, now)
            if reason is not None:
                return CertificateCheck(endpoint_id, reason)
        return CertificateCheck(endpoint_id)

    def _load(self) -> _Material:
        """The current CA and CRL material, re-read when a file changed."""
        with self._lock:
            stamp = (_stamp(self.ca_file), _stamp(self.crl_file) if self.crl_file else None)
            if self._material is None or stamp != self._stamp:
                self._material = _read(self.ca_file, self.crl_file)
                self._stamp = stamp
            return self._material


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        raise ConfigurationError(f"cannot read {path.name} (usp client CA or CRL)") from None
    return stat.st_mtime_ns, stat.st_size


def _read(ca_file: Path, crl_file: Path | None) -> _Material:
    cas = load_certificates(ca_file.read_bytes())
    if not cas:
        raise ConfigurationError("usp_client_ca_file holds no readable CA certificate")
    crls: tuple[x509.CertificateRevocationList, ...] | None = None
    if crl_file is not None:
        crls = tuple(_read_crls(crl_file.read_bytes()))
    return _Material(Store(cas), tuple(cas), crls)


def _read_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    try:
        if b"-----BEGIN" not in data:
            return [x509.load_der_x509_crl(data)]
        blocks = data.split(b"-----END X509 CRL-----")
        return [
            x509.load_pem_x509_crl(block + b"-----END X509 CRL-----\n")
            for block in blocks
            if b"-----BEGIN X509 CRL-----" in block
        ]
    except ValueError:
        raise ConfigurationError("usp_client_crl_file holds an unreadable CRL") from None


def _revocation(
    leaf: x509.Certificate,
    issuer: x509.Certificate | None,
    crls: Sequence[x509.CertificateRevocationList],
    now: datetime,
) -> str | None:
    """None when a current CRL of the leaf's issuer does not list it; else the reason."""
    if issuer is None:
        return "crl_unavailable"
    current = False
    for crl in crls:
        if crl.issuer != leaf.issuer or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            continue
        next_update = crl.next_update_utc
        if next_update is not None and next_update < now:
            continue
        current = True
        if crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None:
            return "certificate_revoked"
    if not current:
        log.warning("no current CRL of a device certificate's issuer; certificate refused")
        return "crl_unavailable"
    return None
