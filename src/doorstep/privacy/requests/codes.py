"""The closed vocabularies of requests: erasure grounds, refusal codes, where to complain."""

from __future__ import annotations

from enum import StrEnum

from doorstep.locale import _


class ErasureGround(StrEnum):
    """Why the requester wants their data erased (CPE-V.3.b); one is required."""

    UNLAWFUL_PROCESSING = "UNLAWFUL_PROCESSING"
    NO_PERMISSION = "NO_PERMISSION"
    BREACH_OF_AGREEMENT = "BREACH_OF_AGREEMENT"
    NO_LONGER_USED_OR_ACCOUNT_CANCELLED = "NO_LONGER_USED_OR_ACCOUNT_CANCELLED"
    SERVICE_DISCONTINUED = "SERVICE_DISCONTINUED"


class RefusalCode(StrEnum):
    """Why a request is refused: discretionary (CPE-V.6.d) or a legal exemption (CPE-V.6.e)."""

    UNREASONABLE_REPETITION = "UNREASONABLE_REPETITION"
    EXCESSIVE_TECHNICAL_MEANS = "EXCESSIVE_TECHNICAL_MEANS"
    RISK_TO_OTHERS = "RISK_TO_OTHERS"
    IMPRACTICAL = "IMPRACTICAL"
    NATIONAL_SECURITY = "NATIONAL_SECURITY"
    PUBLIC_SAFETY_HEALTH_INTEREST = "PUBLIC_SAFETY_HEALTH_INTEREST"
    CRIMINAL_PROCEEDINGS = "CRIMINAL_PROCEEDINGS"
    MALICE_OR_ABUSE = "MALICE_OR_ABUSE"
    SERIOUS_HARM_TO_OTHERS = "SERIOUS_HARM_TO_OTHERS"
    BUSINESS_SECRETS = "BUSINESS_SECRETS"
    #: The requester never proved their identity (CPE-V.6.a).
    IDENTITY_NOT_PROVEN = "IDENTITY_NOT_PROVEN"
    #: A legal hold keeps part of the data past its period (CPE-IV.3.b, CPE-V.5.d):
    #: the rest is erased, the held part once the hold is released (privacy.holds).
    LEGAL_HOLD = "LEGAL_HOLD"


#: The codes staff may refuse a whole request with: a legal hold is never chosen by hand,
#: it is placed on the subject (``doorstep holds place``) and refuses the held part itself.
STAFF_REFUSALS: tuple[RefusalCode, ...] = tuple(
    code for code in RefusalCode if code is not RefusalCode.LEGAL_HOLD
)

#: What a refusal tells the requester, per code (the notice and the privacy center);
#: message ids, translated where they are shown (:mod:`doorstep.locale`).
REFUSAL_TEXT: dict[RefusalCode, str] = {
    RefusalCode.UNREASONABLE_REPETITION: _("it repeats earlier requests beyond a reasonable limit"),
    RefusalCode.EXCESSIVE_TECHNICAL_MEANS: _("it would need excessive technical means"),
    RefusalCode.RISK_TO_OTHERS: _("it would put other people's rights or interests at risk"),
    RefusalCode.IMPRACTICAL: _("it is impractical (for example, data held only on backup media)"),
    RefusalCode.NATIONAL_SECURITY: _("the law exempts it: national security or defence"),
    RefusalCode.PUBLIC_SAFETY_HEALTH_INTEREST: _(
        "the law exempts it: public safety, public health or a major public interest"
    ),
    RefusalCode.CRIMINAL_PROCEEDINGS: _(
        "the law exempts it: a criminal investigation, prosecution, trial or execution of judgment"
    ),
    RefusalCode.MALICE_OR_ABUSE: _("the law exempts it: evidence of malice or abuse of rights"),
    RefusalCode.SERIOUS_HARM_TO_OTHERS: _(
        "the law exempts it: it would seriously harm the rights of others"
    ),
    RefusalCode.BUSINESS_SECRETS: _("the law exempts it: it would disclose trade secrets"),
    RefusalCode.IDENTITY_NOT_PROVEN: _("we could not verify your identity"),
    RefusalCode.LEGAL_HOLD: _(
        "the law requires us to keep part of your data for now (a legal hold on a recorded "
        "legal ground, such as tax law or legal proceedings)"
    ),
}


class ExtensionReason(StrEnum):
    """Why a deadline is extended (GDPR Art. 12(3): the complexity and number of requests)."""

    COMPLEXITY = "complexity"
    NUMBER_OF_REQUESTS = "number_of_requests"


EXTENSION_TEXT: dict[ExtensionReason, str] = {
    ExtensionReason.COMPLEXITY: _("complexity"),
    ExtensionReason.NUMBER_OF_REQUESTS: _("the number of requests we are handling"),
}

#: Codes that must come with a reference to the evidence (CPE-V.6.e, repetition: V.6.c).
NEEDS_EVIDENCE = frozenset({RefusalCode.MALICE_OR_ABUSE, RefusalCode.UNREASONABLE_REPETITION})

#: Where a requester may complain, by jurisdiction (CPE-IX.4, CORP-9.3).  Message ids:
#: the privacy center and the e-mails translate them into the requester's language.
COMPLAINT_ROUTES: dict[str, str] = {
    "default": _("the local personal information supervisory authority or the local government"),
    "gdpr": _(
        "the data protection authority of your EU member state "
        "(list: https://edpb.europa.eu/about-edpb/about-edpb/members_en)"
    ),
    "cn": _(
        "the Cyberspace Administration of China (CAC), the local public security bureau "
        "or the local Administration for Industry and Commerce (AIC)"
    ),
}


def complaint_route(jurisdiction: str) -> str:
    """Where a requester under ``jurisdiction`` may complain (the default route otherwise)."""
    return COMPLAINT_ROUTES.get(jurisdiction, COMPLAINT_ROUTES["default"])
