"""A teacher's notebook -> a student's: solution markers, stubs, stripping, the leak guard, tables of contents.

Pure functions over notebooks (plain ``dict``/nbformat nodes); reading and writing files is ``assignments.strip``'s
job. Nothing here imports nbformat, so that ``dodo.py`` loads the task creators cheaply.
"""
