"""`python -m grader` is the `lab` command."""

from grader.cli import main

main()
