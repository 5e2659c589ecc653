"""Domain layer: entities, value objects, errors, ports and use cases.

Imports only the standard library and pydantic, so it can be tested without any I/O.
"""
