"""A module whose import never returns."""

while True:
    pass
