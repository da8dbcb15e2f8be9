"""Incidents and breach notices: affected subjects from the data map, notices on a clock.

Staff open an incident, rate it and work its plan; Doorstep computes the
affected subjects from the data map, the audit trail and the fleet, and creates
the notification obligations to subjects and regulators of decision 0018
(CPE-IV.1.e, CPE-IV.2.e, CPE-IV.7.*, CORP-5.7, X-13).
"""
