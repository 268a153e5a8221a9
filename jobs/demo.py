"""spark-submit entry point for `spinback demo`; arguments as for the command line."""

import sys

from spinback.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
