"""The made-up pack of the data-map tests, as text, and a helper to write packs."""

from __future__ import annotations

from pathlib import Path

SCRATCH_PACK = """\
purposes:
  service.core:
    data_use: essential.service
    description: Run the service you signed up for.
    clauses: [CPE-I.i.1.a]
  newsletter:
    data_use: marketing.communications.email
    description: Send the newsletter you asked for.
    products: [router]
  voice.calls:
    data_use: essential.service.operations
    description: Route your phone calls through the gateway.
    products: [gateway]
retention:
  until_gone:
    trigger: subject_erased
    period: P0D
    description: Kept until you leave the service.
  a_month:
    trigger: created
    period: P30D
    description: Kept for 30 days.
  offline_two_years:
    trigger: device_offline
    period: P2Y
    description: Kept until two years after the device was last online.
regions:
  primary:
    description: Our data centre in your country.
  abroad:
    description: A data centre in Elbonia.
    country: EL
    transfer: Standard contractual clauses (GDPR Art. 46(2)(c))
recipients:
  mailer:
    description: The mail delivery provider
  lab:
    description: A research lab
    country: XY
    transfer: Explicit consent (GDPR Art. 49(1)(a))
controller:
  name: Example Networks Ltd
  email: privacy@example.net
  address: 1 Example Street, Exampleton
  dpo:
    name: Dana Protector
    email: dpo@example.net
security_measures: [Role-based access control, Encryption in transit]
products:
  router:
    name: Router
  gateway:
    name: Home gateway
"""


def write_pack(folder: Path, body: str) -> Path:
    """``folder`` holding a ``datamap.yaml`` with ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "datamap.yaml").write_text(body, encoding="utf-8")
    return folder
