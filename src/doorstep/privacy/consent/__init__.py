"""Append-only consent ledger, current-state view and signed receipts.

Public surface::

    grant(session, subject_id=..., purpose="wifi.location_scan", channel="app",
          notice_text=shown, clock=clock, terms=terms)       -> ConsentRecord
    refuse(...), withdraw(session, ..., channel="app", clock=clock, terms=terms)
    current_state(session, subject_id)                       -> {purpose: ConsentRecord}
    is_enabled(session, subject_id, "device.qr_camera", terms=terms) -> bool (off until consented)
    optional_functions(session, subject_id, terms=terms)     -> on/off and the manual path
    issue_receipt(session, event_id, signer=signer_for(settings), actor=..., pack=pack,
                  terms=terms)                               -> JWS
    verify_receipt(token, published_jwk)                     -> claims

``terms`` (:func:`load_terms` of the pack in force) and ``pack`` come from the caller:
the composition root loads them once (``Services.terms``, ``Services.pack``).
"""

from doorstep.privacy.consent.models import Channel, ConsentAction, ConsentEvent
from doorstep.privacy.consent.receipts import (
    ReceiptInvalidError,
    build_claims,
    issue_receipt,
    verify_receipt,
)
from doorstep.privacy.consent.services import (
    ConsentRecord,
    OptionalFunction,
    current_state,
    get_event,
    grant,
    history,
    is_enabled,
    latest,
    notice_hash,
    optional_functions,
    refuse,
    withdraw,
)
from doorstep.privacy.consent.signing import (
    ReceiptSigner,
    key_from_jwk,
    public_jwk,
    receipt_key_path,
    signer_for,
)
from doorstep.privacy.consent.terms import ConsentPurpose, ConsentTerms, load_terms

__all__ = [
    "Channel",
    "ConsentAction",
    "ConsentEvent",
    "ConsentPurpose",
    "ConsentRecord",
    "ConsentTerms",
    "OptionalFunction",
    "ReceiptInvalidError",
    "ReceiptSigner",
    "build_claims",
    "current_state",
    "get_event",
    "grant",
    "history",
    "is_enabled",
    "issue_receipt",
    "key_from_jwk",
    "latest",
    "load_terms",
    "notice_hash",
    "optional_functions",
    "public_jwk",
    "receipt_key_path",
    "refuse",
    "signer_for",
    "verify_receipt",
    "withdraw",
]
