"""TLS in ``doorstep serve``: the server certificate and agents' client certificates.

:func:`uvicorn_tls_options` gives the keyword arguments of ``uvicorn.Config`` when
``serve_tls_certfile`` is set (nothing otherwise):

* an SSL context that asks every client for a certificate but does not require one
  (``CERT_OPTIONAL``: the app API and pages work without), trusting only the
  operator's device CA (``usp_client_ca_file``) for client certificates.  The TLS
  layer checks the chain but not the validity period (``X509_V_FLAG_NO_CHECK_TIME``):
  an expired certificate reaches the WebSocket endpoint, which refuses and audits it
  under the endpoint id it names (:mod:`doorstep.usp.certificates` checks time and
  revocation there).  A certificate from another CA fails the handshake; its
  :class:`_ReportingSSLObject` reports that refusal (no id is known then);
* :class:`TlsWebSocketProtocol`: uvicorn's WebSocket protocol plus the ASGI TLS
  extension (``scope["extensions"]["tls"]["client_cert_chain"]``, PEM), which uvicorn
  does not provide itself.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings

log = logging.getLogger("doorstep.usp.tls")

#: OpenSSL's X509_V_FLAG_NO_CHECK_TIME (not exported by :mod:`ssl`): time is checked
#: by the app, which can name and audit the endpoint of an expired certificate.
_NO_CHECK_TIME = 0x200000

TLS_EXTENSION = "tls"
"""The ASGI TLS extension's key in ``scope["extensions"]``."""


def client_cert_chain(scope: Any) -> list[str]:
    """The client certificate chain (PEM, leaf first) the TLS layer verified, or []."""
    extension = (scope.get("extensions") or {}).get(TLS_EXTENSION) or {}
    return list(extension.get("client_cert_chain") or [])


class TlsWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, adding the ASGI TLS extension to the scope."""

    def handle_connect(self, event: Request) -> None:
        """Build the scope as uvicorn does, then add the peer's certificate to it.

        uvicorn creates the application's task here and that task runs only after this
        method returns, so the extension is in the scope before the app reads it.
        """
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is None:  # the handshake was refused before a scope existed
            return
        ssl_object = self.transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
        scope["extensions"][TLS_EXTENSION] = {
            "server_cert": None,
            "client_cert_chain": chain,
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": None,
            "cipher_suite": None,
        }


class _ReportingSSLObject(ssl.SSLObject):
    """An SSLObject that reports a client certificate the TLS layer refused."""

    on_refused: Callable[[str], None] | None = None

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except ssl.SSLCertVerificationError as exc:
            reason = "certificate_expired" if exc.verify_code == 10 else "certificate_untrusted"
            if self.on_refused is not None:
                try:
                    self.on_refused(reason)
                except Exception:  # reporting must never change the handshake's outcome
                    log.exception("reporting a refused client certificate failed")
            raise


def server_ssl_context(
    settings: Settings, on_refused: Callable[[str], None] | None = None
) -> ssl.SSLContext:
    """The server context of ``serve`` (see the module docstring)."""
    assert settings.serve_tls_certfile is not None and settings.serve_tls_keyfile is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.serve_tls_certfile, settings.serve_tls_keyfile)
    if settings.usp_client_ca_file is not None:
        context.load_verify_locations(cafile=settings.usp_client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
        context.verify_flags |= _NO_CHECK_TIME
        if on_refused is not None:
            reporter = {"on_refused": staticmethod(on_refused)}
            context.sslobject_class = type("ReportingSSLObject", (_ReportingSSLObject,), reporter)
    return context


def uvicorn_tls_options(
    settings: Settings, on_refused: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments for TLS, or {} when serve speaks plain HTTP.

    Raises ConfigurationError (naming the settings, not the files' content) when the
    certificate, key or CA file cannot be used.
    """
    if settings.serve_tls_certfile is None:
        return {}
    try:
        context = server_ssl_context(settings, on_refused)
    except (OSError, ssl.SSLError):
        raise ConfigurationError(
            "serve_tls_certfile, serve_tls_keyfile or usp_client_ca_file cannot be used "
            "(missing, unreadable or not PEM)"
        ) from None
    return {
        "ssl_context_factory": lambda _config, _default: context,
        "ws": TlsWebSocketProtocol,
    }
