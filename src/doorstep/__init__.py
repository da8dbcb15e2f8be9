"""Doorstep: a cloud for home routers and gateways whose privacy policy is executable."""

__version__ = "0.1.0"
