"""Legal holds: a subject's data (or one element of it) kept past its period on a recorded legal ground.

A hold names its legal basis, authority and reference; while it stands, erasure
refuses the held part and retention sweeps skip and report the held rows.
Releasing it lets the deferred erasure or sweep happen by itself
(CPE-IV.3.b, CPE-IV.1.b, CPE-V.5.d, CORP-5.4).
"""
