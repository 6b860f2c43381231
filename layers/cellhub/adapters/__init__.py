"""Adapters: the AWS and local implementations of the ports in ``cellhub.ports``."""
