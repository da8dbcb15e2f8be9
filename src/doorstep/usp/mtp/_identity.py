"""Which client certificate a WebSocket upgrade carries, and whether it proves the agent.

:class:`CertificateIdentity` finds the certificate an agent presented, in this order:

1. the TLS layer of ``serve`` (the ASGI TLS extension :mod:`.tls` adds), when serve
   terminated TLS itself;
2. a trusted TLS-terminating proxy's headers (``usp_proxy_verify_header`` and
   ``usp_proxy_cert_header``), believed only when the TCP peer is one of
   ``trusted_proxies`` (:func:`doorstep.core.proxies.from_trusted_proxy`); from any
   other peer those headers are ignored, as anyone can send them.

and checks it with :class:`~doorstep.usp.certificates.DeviceCertificateAuthority`
(the proxy's own verdict must be ``SUCCESS`` too: a proxy that says ``FAILED`` is a
refusal, ``NONE`` means no certificate).  No certificate at all leaves the decision
to the per-device secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from cryptography import x509
from starlette.requests import HTTPConnection

from doorstep.core.proxies import from_trusted_proxy
from doorstep.core.settings import Settings
from doorstep.usp.certificates import (
    CertificateCheck,
    DeviceCertificateAuthority,
    certificates_from_header,
    endpoint_ids_of,
    load_certificates,
)
from doorstep.usp.mtp.tls import client_cert_chain


class CertificateIdentity:
    """The certificate side of the WebSocket upgrade (see the module docstring)."""

    def __init__(
        self,
        authority: DeviceCertificateAuthority,
        settings: Settings,
        now: Callable[[], datetime],
    ) -> None:
        self.authority = authority
        self._settings = settings
        self._now = now

    @classmethod
    def from_settings(
        cls, settings: Settings, now: Callable[[], datetime]
    ) -> CertificateIdentity | None:
        """The identity check ``settings`` configure, or None (``usp_client_ca_file`` unset)."""
        if settings.usp_client_ca_file is None:
            return None
        authority = DeviceCertificateAuthority(
            settings.usp_client_ca_file, settings.usp_client_crl_file
        )
        return cls(authority, settings, now)

    async def check(self, connection: HTTPConnection) -> CertificateCheck | None:
        """The outcome for the certificate ``connection`` carries; None when it has none."""
        chain = self._presented(connection)
        if chain is None:
            return None
        if isinstance(chain, CertificateCheck):
            return chain
        return await asyncio.to_thread(self.authority.check, chain, self._now())

    def _presented(
        self, connection: HTTPConnection
    ) -> list[x509.Certificate] | CertificateCheck | None:
        direct = client_cert_chain(connection.scope)
        if direct:
            return [c for pem in direct for c in load_certificates(pem.encode("ascii"))]
        if not from_trusted_proxy(connection, self._settings):
            return None
        verdict = connection.headers.get(self._settings.usp_proxy_verify_header, "").strip()
        if not verdict or verdict.upper() == "NONE":
            return None
        chain = certificates_from_header(
            connection.headers.get(self._settings.usp_proxy_cert_header, "")
        )
        if verdict.upper() != "SUCCESS":
            named = _named_id(chain)
            reason = "certificate_expired" if "expired" in verdict.lower() else None
            return CertificateCheck(named, reason or "certificate_untrusted")
        return chain or CertificateCheck(None, "certificate_unreadable")


def _named_id(chain: list[x509.Certificate]) -> str | None:
    """The (unverified) endpoint id a refused certificate names, for the audit."""
    ids = endpoint_ids_of(chain[0]) if chain else []
    return ids[0] if len(ids) == 1 else None
