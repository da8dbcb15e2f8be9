"""Policy versions: published, retrievable by id and by time, and who accepted which.

Every version of the active pack's policy with its effective date, change
summary and classification; acknowledgements and acceptances per subject, by
which the purpose gate decides which version governs a subject (CPE-VII.2,
CPE-VII.4, CPE-VII.5, CORP-8.1, CORP-8.3, CPE-0.2, CPE-0.5, X-16).

Modules: :mod:`.facts` (what a version says, read from a pack), :mod:`.classify`
(the differences between two versions against the major-change triggers),
:mod:`.versions` (stored versions: the first one, by id, in force at T),
:mod:`.answers` (acknowledgements, acceptances, refusals; the governing
version) and :mod:`.models` (``policy_versions``, ``policy_acceptances``).

May import consent, restrictions, evidence, datamap, notify, keys, audit, jobs,
subjects, vocabulary, core and locale; the purpose gate, accounts and devices
import it.  Publishing and the notices of a major change are
:mod:`doorstep.privacy.changes`.
"""
