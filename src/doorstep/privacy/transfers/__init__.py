"""Regions, cross-border transfers and ingestion minimisation (decision 0031).

Each subject has a home country and each store region a country; a flow to
another country passes the transfer gate, which requires a recorded mechanism
(consent, adequacy, a standard contract or binding rules on file), has the
payload de-identified first where the pack says so, tells the subject before
the data leaves, and writes the transfer register exported beside the record
of processing (CPE-VIII.*, CORP-7.*, CPE-IV.1.d, CORP-5.6, CPE-I.i.1.c, X-5).
What devices and clients send that no purpose declares is dropped before
storage and counted as schema drift (CPE-IV.3.a, CPE-0.4).

Modules: :mod:`.models` (tables), :mod:`.policy` (the pack's ``transfers:``),
:mod:`.mechanisms` (home countries, mechanisms), :mod:`.identifiers` (the last
check for direct identifiers), :mod:`.gate` (the gate), :mod:`.notices` (the
subject's notice), :mod:`.register` (register and data-location report),
:mod:`.ingestion` (minimisation and drift), :mod:`.client` (app bodies' undeclared
fields counted as drift), :mod:`.cli`.  May import the
privacy areas below it (retention, purposes, consent, datamap, deidentify),
notify, audit and core; ``privacy.sharing`` above calls :meth:`.gate.TransferGate.transfer`.
"""
