"""The command line (click): parse, call the packages that do the work, print. main.py is the
entry point; commands/ holds the command families, loaded only when used."""
