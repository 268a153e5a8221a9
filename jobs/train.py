"""spark-submit entry point for `spinback train`; arguments as for the command line."""

import sys

from spinback.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
