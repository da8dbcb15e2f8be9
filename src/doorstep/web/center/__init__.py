"""The privacy center: the subscriber's own pages, and requests filed without signing in.

Page modules (each has a ``router``; :data:`doorstep.web.mount.PAGE_MODULES` names
the first four, :mod:`.privacy` includes the routers of the privacy sections):

* :mod:`.home` — home, sign-up, verification, sign-in and -out, the cookie choice;
* :mod:`.account` — my account and deregistration;
* :mod:`.policy_pages` — the privacy policy: the version in force, archived versions,
  the notice of a change and the subscriber's answer;
* :mod:`.devices` — my devices: bind, configure, see live (helpers:
  :mod:`.device_view` loads what the pages show, :mod:`.device_forms` reads the
  forms and binds);
* :mod:`.privacy` — the "My privacy" overview, with its sections :mod:`.consents`
  (consents and optional functions, receipts), :mod:`.my_data` (download my data)
  and :mod:`.my_requests` (follow and file data-subject requests), and
  :mod:`.public_requests` (the public request form, its code, the public status page);
* :mod:`.questions` — privacy questions: ask one (signed in, or on the public form)
  and see where it stands (named in ``PAGE_MODULES`` itself);
* :mod:`.security` — the public security page: published security impact assessments
  (named in ``PAGE_MODULES`` itself).

Shared by the privacy pages: :mod:`.request_view` (a request as a page shows it,
running a service, the purposes a subscriber may choose) and :mod:`.wording` (the
words subscribers read for kinds, states, grounds, purposes and kinds of data).

May import: the areas' services (``accounts``, ``devices``, ``privacy``, ``core``,
``vocabulary``) and the page machinery at the top of :mod:`doorstep.web`; never
:mod:`doorstep.web.console`.
"""
