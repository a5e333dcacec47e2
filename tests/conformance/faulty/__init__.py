"""Deliberately faulty implementations: each must make the property of its clause fail."""
