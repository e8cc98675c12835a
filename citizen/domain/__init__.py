"""Pydantic models of a co-produced study and the pure rules that belong to them."""
