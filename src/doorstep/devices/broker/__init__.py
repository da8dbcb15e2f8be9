"""Broker accounts: per-device MQTT accounts and ACLs from the device inventory (0029).

* :mod:`.acl` — what one device may publish and subscribe (decision 0009's ACL, with
  its endpoint id spelt out) and MQTT topic-filter matching;
* :mod:`.dynsec` — Mosquitto's dynamic-security plugin: the commands that make the
  broker's device accounts match the inventory, computed as a diff (idempotent);
* :mod:`.control` — sends those commands live through ``$CONTROL/dynamic-security/v1``;
* :mod:`.emqx` — the HTTP authentication and authorization endpoints EMQX asks;
* :mod:`.events` — the webhook EMQX calls when a device connects or disconnects
  (presence, decision 0027), shown the same token (:mod:`._token`);
* :mod:`.cli` — ``doorstep broker accounts``.

May import the inventory (:mod:`doorstep.devices.inventory`), the USP configuration
and the core; :mod:`.events` also the registry's table and the app's controller
(:mod:`doorstep.devices.mount`).  Nothing else of the devices area.
"""
