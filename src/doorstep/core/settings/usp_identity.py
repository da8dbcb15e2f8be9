"""Settings of device identity: TLS in ``serve``, client certificates, broker accounts.

Decision 0029 and docs/devices.md ("Certificates", "Broker accounts").  Certificate
identity is on when ``usp_client_ca_file`` is set: directly when ``serve`` terminates
TLS itself (``serve_tls_certfile`` and ``serve_tls_keyfile``), or from a
TLS-terminating proxy listed in ``trusted_proxies`` that forwards the verified client
certificate in ``usp_proxy_cert_header``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator


class UspIdentitySettings(BaseModel):
    """Where ``serve``'s TLS keys, the operator's device CA and the broker admin are."""

    serve_tls_certfile: Path | None = Field(
        default=None,
        description="serve terminates TLS with this certificate chain (PEM); with "
        "serve_tls_keyfile. Unset: serve speaks plain HTTP (behind a TLS proxy).",
    )
    serve_tls_keyfile: Path | None = Field(
        default=None, description="The private key (PEM) of serve_tls_certfile."
    )
    usp_client_ca_file: Path | None = Field(
        default=None,
        description="The operator's CA certificates (PEM) that issue device certificates; "
        "a WebSocket agent whose certificate chains to one of them and names its endpoint "
        "id (subjectAltName urn:bbf:usp:id:<id>) needs no secret. Unset: secrets only.",
    )
    usp_client_crl_file: Path | None = Field(
        default=None,
        description="Certificate revocation lists (PEM or DER) of that CA, re-read when the "
        "file changes; with it set, a device certificate is refused unless a current CRL "
        "of its issuer is there and does not list it.",
    )
    usp_proxy_verify_header: str = Field(
        default="X-SSL-Client-Verify",
        description="Header in which a trusted TLS proxy says whether it verified the "
        "client certificate (SUCCESS, FAILED:<reason> or NONE, as nginx's $ssl_client_verify).",
    )
    usp_proxy_cert_header: str = Field(
        default="X-SSL-Client-Cert",
        description="Header in which a trusted TLS proxy forwards the client certificate: "
        "URL-encoded PEM (nginx $ssl_client_escaped_cert), PEM, or base64 DER.",
    )
    broker_admin_url: SecretStr | None = Field(
        default=None,
        description="mqtt[s]://user:password@host:port of a broker account allowed to use "
        "Mosquitto's $CONTROL/dynamic-security/v1 (doorstep broker accounts); default: "
        "the controller's usp_mqtt_url.",
    )
    broker_http_token: SecretStr | None = Field(
        default=None,
        description="Bearer token EMQX sends to /api/v1/broker/authenticate and /authorize "
        "(HTTP authentication and authorization). Unset: those endpoints answer 404.",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> UspIdentitySettings:
        if (self.serve_tls_certfile is None) != (self.serve_tls_keyfile is None):
            raise ValueError("serve_tls_certfile and serve_tls_keyfile must be set together")
        if self.broker_http_token is not None and len(self.broker_http_token) < 32:
            raise ValueError("broker_http_token must be at least 32 characters")
        return self
