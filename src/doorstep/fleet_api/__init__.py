"""The staff JSON API of fleet operations (issue 19 item 6, decision 0044).

Under ``/api/v1/console/fleet``, for a signed-in staff member allowed ``manage_fleet``
(support, admin): firmware images and the update of one device, the fleet device list
and a device's technical view, tags, groups, rollouts and bulk actions.  The routes are
thin: they call the services the console pages and the command line call
(:mod:`doorstep.devices.fleet`), in the request's transaction, with the staff member as
actor; the services check the input, gate the reads and audit every change.

The package sits above both areas it joins: the devices area holds the fleet's
services and may not import the staff area's sign-in and access control (the two sit
side by side in the layers), so neither could hold these routes.  It imports
:mod:`doorstep.devices`, :mod:`doorstep.staff` and what lies below them, never the
web pages or the composition root.

* :mod:`.api` — the router (mounted by :mod:`doorstep.asgi`);
* :mod:`.access` — who may call it, and whether their role reads model and firmware;
* :mod:`.images`, :mod:`.devices`, :mod:`.groups`, :mod:`.rollouts`, :mod:`.bulk` — the
  routes, one module per concept;
* :mod:`.schemas`, :mod:`.rollout_schemas`, :mod:`.bulk_schemas` — request and response
  bodies (the OpenAPI description is generated from them).
"""
