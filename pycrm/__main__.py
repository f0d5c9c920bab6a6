"""`python -m pycrm` runs the command line."""

from pycrm.cli.app import main

if __name__ == "__main__":
    main()
