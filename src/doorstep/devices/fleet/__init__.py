"""Fleet operations: firmware, rollouts, groups, bulk actions, diagnostics, settings wipes.

Every action on a device is a row of ``device_operations`` (:mod:`.operations`), run by
the executor of a controller process and settled by the device's own notifications
(decision 0038).
"""
