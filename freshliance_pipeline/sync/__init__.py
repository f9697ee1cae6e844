"""Incremental sync logic: what to ask the gateway for, given what the lake holds."""
