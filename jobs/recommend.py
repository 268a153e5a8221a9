"""spark-submit entry point for `spinback recommend`; arguments as for the command line."""

import sys

from spinback.cli import main

if __name__ == "__main__":
    sys.exit(main(["recommend", *sys.argv[1:]]))
