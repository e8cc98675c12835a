"""citizen: co-produced, citizen-science health studies on low-resource laptops."""

__version__ = "0.1.0"
