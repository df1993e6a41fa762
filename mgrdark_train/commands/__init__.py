"""`mgrtrain` commands: each parses options, calls one library function and reports."""
