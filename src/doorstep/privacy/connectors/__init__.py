"""Connected systems: the operator's other systems holding a subject's data, and their connectors.

Each system is declared in the data map (kind, how a subject is identified,
elements, purposes, retention); a connector (SQL, HTTP, manual task) finds,
exports and erases or anonymises a subject's data there, and data-subject
requests fan out to every system (issue 18; CORP-1.*, CORP-2.5, CORP-5.4, CORP-5.5).
"""
