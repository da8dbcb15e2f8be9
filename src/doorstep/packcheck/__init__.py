"""Check a policy pack, and say what changing to another one does to stored data.

``doorstep pack check DIR`` (:mod:`.cli`) lists every problem of the pack in
``DIR`` with its file and line (:mod:`.check`, :mod:`.texts`); start-up runs the
same check on the pack in force and refuses it with the same messages
(:func:`.check.require_valid_pack`).  ``doorstep pack diff OLD NEW`` (:mod:`.diff`)
lists the purposes a new pack removes and the periods it shortens, with what
they would do to the rows of a reachable database.

This package sits above :mod:`doorstep.schema`: the check reads the whole
schema's declarations, the retention bindings and the consent terms, and the
diff counts consent records and rows due.
"""
