"""``python -m sidebyside``: the same command as ``sidebyside``."""

from sidebyside.cli.main import main

if __name__ == "__main__":
    main()
