"""The web pages: the subscriber's privacy center and the operator console (server-rendered).

Jinja2 templates with htmx for small live updates; every core flow works
without JavaScript.  :func:`doorstep.web.mount.install` mounts the pages on the
app; see decision 0016 for the choices (sessions, CSRF, cookies, translation).

One package per audience:

* :mod:`doorstep.web.center` — the subscriber's privacy center;
* :mod:`doorstep.web.console` — the operator console.

At this level, the machinery both audiences share: :mod:`.mount` (routers,
static files, middleware, error pages), :mod:`.session` (who is signed in),
:mod:`.csrf`, :mod:`.cookies` (which cookies may be set), :mod:`.templating`
(Jinja2 and ``render``), :mod:`.i18n` (gettext), :mod:`.work` (a page's change in
a transaction, errors for the form), :mod:`.numbers` (whole numbers typed by a
visitor), and :mod:`.api_docs` (Swagger UI at ``/docs``).  ``templates/`` holds the
pages (``center/`` and ``console/`` by audience) and ``static/`` their assets.

The shared machinery may import ``core``, ``accounts`` and ``staff`` (sessions),
``privacy.purposes`` and :mod:`doorstep.services` (transactions); it never imports the
audience packages (``mount`` finds them by name in ``PAGE_MODULES``).  The audience
packages import the machinery, and neither imports the other.
"""
