"""The controls register: security and continuity controls with their evidence dates.

Business-continuity plan tests, security-policy reviews, third-party audits,
certificates, security impact assessments — each with a due date, an overdue
alert, and the notice's claims flagged when their evidence has lapsed
(CPE-IV.2.b–d, CPE-IV.5).
"""
