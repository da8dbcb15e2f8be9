"""The web pages: the subscriber's privacy center and the operator console (server-rendered).

Jinja2 templates with htmx for small live updates; every core flow works
without JavaScript.  :func:`doorstep.web.mount.install` mounts the pages on the
app; see decision 0016 for the choices (sessions, CSRF, cookies, translation).
"""
