"""Devices: registry, binding by QR claim, PPPoE and Wi-Fi configuration, live status.

The device side of the CPE policy (decision 0013, docs/devices.md):

* :mod:`.registry` records what a router or gateway reports about itself when it
  connects (CPE-I.ii.1.a) and :mod:`.presence` tracks online/offline, which starts
  the two years after which the record is anonymised (CPE-I.ii.1.c);
* :mod:`.binding` binds a device to the first account that proves it holds the
  device's claim secret (QR code or typed code, CPE-I.ii.2), with lockout and ledger;
* :mod:`.pppoe`, :mod:`.wifi` and :mod:`.live` configure the device and relay what it
  reports, storing only the PPPoE credentials, encrypted, until unbinding (CPE-I.iii);
* :mod:`.hooks` and :mod:`.credentials` connect the USP controller to all of this;
  :mod:`.api` is the app's REST API under ``/api/v1/devices``.
"""
