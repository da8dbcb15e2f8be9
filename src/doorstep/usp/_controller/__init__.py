"""Private parts of :mod:`doorstep.usp.controller`; import from there."""
