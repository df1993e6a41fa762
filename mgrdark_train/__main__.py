"""`python -m mgrdark_train` runs the `mgrtrain` command line."""

from .cli import main

main()
