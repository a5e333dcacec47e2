"""Does not load: an incompetent mutant."""

RATE = 1 // 0


def agc(parameters, clip_factor=0.01, eps=1e-3):  # type: ignore[no-untyped-def]
    return RATE
