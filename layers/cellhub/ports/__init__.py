"""Ports: the narrow interfaces services use for infrastructure.

Each has an AWS and a local adapter.
"""
