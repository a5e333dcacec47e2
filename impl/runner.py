"""``python -m impl.runner``: the Stage A study runner (in :mod:`impl.study.run`)."""

from impl.study.run import main

if __name__ == "__main__":
    raise SystemExit(main())
