"""The Stage A study: an application of the library (not imported by ``import impl``).
"""
