"""Roster: who is in the class and where each one's server runs.

In: ``roster/users.csv`` (the teacher's spreadsheet), ``hosts`` (the lab servers), ``course.toml``. Out: the roster
file with every student's server, port, password and url filled in (never changing a value already there), the
validated students and hosts that later stages read, the students' argon2 password hashes, and the invitations
(``build/mail/<id>.eml``, sent over SMTP when asked).

    hosts      the ``hosts`` file: one Docker engine a line
    table      the roster file as it is, read and written back the same way
    students   every row checked: the students
    allocate   ``doit roster``: server, port, password and url for whoever lacks them
    passwords  argon2 hashes, made once per password
    mail       invitations: written, and sent when the teacher asks
"""
