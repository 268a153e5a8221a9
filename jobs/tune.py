"""spark-submit entry point for `spinback tune`; arguments as for the command line."""

import sys

from spinback.cli import main

if __name__ == "__main__":
    sys.exit(main(["tune", *sys.argv[1:]]))
