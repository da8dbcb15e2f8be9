"""Policy versions: published, retrievable by id and by time, and who accepted which.

Every version of the active pack's policy with its effective date, change
summary and classification; acknowledgements and acceptances per subject, by
which the purpose gate decides which version governs a subject (CPE-VII.2,
CPE-VII.4, CPE-VII.5, CORP-8.1, CORP-8.3, CPE-0.2, CPE-0.5, X-16).
"""
