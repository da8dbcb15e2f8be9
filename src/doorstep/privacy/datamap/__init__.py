"""The data map built on the column declarations of :mod:`doorstep.vocabulary`.

The vocabulary the map uses (purposes, retention rules, regions, recipients)
comes from the policy pack (:mod:`.pack`); categories and subjects come from the
fideslang taxonomy (:mod:`.taxonomy`).  :mod:`.registry` collects and validates
the whole map.

Generated from it, never written by hand (``doorstep datamap …``, :mod:`.cli`):
the record of processing (:mod:`.ropa`, :mod:`.ropa_formats`), the fideslang
export (:mod:`.fides`) and the notice's "what we collect and why" (:mod:`.notice`).
"""
