"""``python -m impl.compare``: the Stage A compare wrapper (in :mod:`impl.study.shootout`)."""

from impl.study.shootout import main

if __name__ == "__main__":
    raise SystemExit(main())
