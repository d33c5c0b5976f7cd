"""The survey model and its file format, shared by the reference platform and the offline walk.

- model.py: Survey, Page, Question, Quota: frozen values, no I/O.
- file.py: load and check a survey TOML file, one-line errors naming the file and the key.

A URL target needs no survey file: these describe surveys for the embedded platform only.
"""
