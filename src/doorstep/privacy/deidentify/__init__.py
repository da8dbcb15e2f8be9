"""De-identification of logs and exports: identifiers replaced by keyed pseudonyms, streaming.

Serial numbers, MACs, IPs, e-mail addresses, phone numbers, account and device
ids become stable keyed pseudonyms (rotatable with the key); what a recipient may
not receive is dropped.  Fails closed (CPE-IV.2.a, CORP-7.2).

Public surface::

    profile = pack.deidentification["diagnostic_logs"]        # or Profile(...) in code
    key = PseudonymKey.derive(secret, recipient="research", generation=1)
    scanner = Scanner(profile, key)                           # PatternError if one fails
    scanner.block(b"...whole lines...")                       -> bytes
    deidentify_stream(source, sink, scanner)                  -> Summary (counts only)
    deidentify_file(source_path, target_path, scanner)        -> Summary; no target on error
    deidentify_payload(text, scanner)                         -> str (one message, any lines)

Modules: :mod:`.kinds` (kinds and patterns), :mod:`.pseudonyms` (keys, tokens),
:mod:`.profiles` (what a destination may receive), :mod:`.scanner` (Hyperscan),
:mod:`.stream` (chunks, fail-closed checks, files), :mod:`.errors`.
May import keys, audit, core and vocabulary; nothing of the privacy areas above.
"""

from doorstep.privacy.deidentify.errors import DeidentifyError, MalformedLineError, PatternError
from doorstep.privacy.deidentify.kinds import Kind
from doorstep.privacy.deidentify.profiles import PSEUDONYMISE_ALL, Profile
from doorstep.privacy.deidentify.pseudonyms import PseudonymKey
from doorstep.privacy.deidentify.scanner import Scanner
from doorstep.privacy.deidentify.stream import (
    Summary,
    deidentify_file,
    deidentify_payload,
    deidentify_stream,
)

__all__ = [
    "PSEUDONYMISE_ALL",
    "DeidentifyError",
    "Kind",
    "MalformedLineError",
    "PatternError",
    "Profile",
    "PseudonymKey",
    "Scanner",
    "Summary",
    "deidentify_file",
    "deidentify_payload",
    "deidentify_stream",
]
