"""Sharing: the disclosure register, and the notices that follow a subject's data to recipients.

Public surface::

    record_disclosure(session, subject_id=…, recipient="…", purpose="…",
                      elements=("accounts.email",), clock=clock, actor=…)
    notify_recipients(session, subject_id=…, request_id=…, kind=NoticeKind.ERASURE, …)
    confirm_notice(session, notice_id, clock=clock, actor=…)
"""
