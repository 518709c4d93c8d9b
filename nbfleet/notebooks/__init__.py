"""Turning the teacher's notebooks into student notebooks: solution markers, stripping, the leak guard, tables of contents.

Pure functions over notebooks (plain ``dict``/nbformat nodes); reading and writing files is ``nbfleet.assignment``'s job.
Nothing here imports nbformat at module level, so ``dodo.py`` can load the task creators cheaply.
"""
