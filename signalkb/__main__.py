"""`python -m signalkb`: the same command line as the `signalkb` script."""

from signalkb.cli import main

main()
