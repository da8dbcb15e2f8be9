"""The operator console: the staff's pages under ``/console``.

Page modules (each has a ``router``; :data:`doorstep.web.mount.PAGE_MODULES` names
:mod:`.requests` and :mod:`.records`, which include the others):

* :mod:`.signin` — staff sign-in by link, and sign-out;
* :mod:`.requests` — the privacy desk: the request queue, one request, the decisions;
* :mod:`.records` — retention, the record of processing and the audit trail
  (:mod:`.audit` reads and verifies the trail), and the device look-up
  (:mod:`.devices`);
* :mod:`.controls` — the controls register: overdue alerts, flagged claims of
  the notice, the controls, their evidence and assessment versions (named in
  ``PAGE_MODULES`` itself).
* :mod:`.inquiries` — privacy questions: the queue, one question, the answer
  (named in ``PAGE_MODULES`` itself).
* :mod:`.holds` — legal holds: the list, place and release (named in
  ``PAGE_MODULES`` itself).
* :mod:`.drift` — schema drift: what devices and apps sent that no purpose
  declares, counted with no values (named in ``PAGE_MODULES`` itself).
* :mod:`.fleet` — the fleet list with filters and keyset pages, tags and device
  groups; :mod:`.bulk` — bulk actions and their per-device results (both named in
  ``PAGE_MODULES`` itself); :mod:`.rollouts` — firmware rollouts, followed live, with
  their pause, resume and abort (named in ``PAGE_MODULES`` itself).
* :mod:`.completions` and :mod:`.withdrawals` — the connected systems' completion
  events (list, sources, record one) and the systems told of withdrawn consents
  (named in ``PAGE_MODULES`` itself).

Shared by the console pages: :mod:`.staff_work` (the checked form, a staff
action in a transaction of its own, field messages) and :mod:`.wording` (the
labels of the requests' kinds, states and channels).

May import: the areas' services (``staff``, ``audit``, ``devices``, ``privacy``,
``core``; :mod:`doorstep.schema` for the record of processing) and the page machinery
at the top of :mod:`doorstep.web`; never :mod:`doorstep.web.center`.
"""
