"""Generated protobuf modules of the USP schema (see regenerate.sh); import via doorstep.usp."""
