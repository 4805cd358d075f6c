"""`qa` (the console script) and `python -m qa`: the command line, with the process defaults in place before
anything heavy loads (qa.runtime)."""

from __future__ import annotations

from qa.runtime import apply_env_defaults


def main() -> None:
    apply_env_defaults()
    from qa.cli import app  # after the defaults: it imports numpy

    app()


if __name__ == "__main__":
    main()
