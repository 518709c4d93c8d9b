"""Tasks: the doit task creators a course's ``dodo.py`` lists, one module per flow, and what they show.

In: the course's settings, its files (as ``file_dep``, relative to the course folder) and the engines' state (as
cheap ``uptodate`` checks). Out: doit tasks; their actions call the stages and print through ``render``.

    common    settings, DOIT_CONFIG, one-line errors, the reporter, paths as doit records them
    render    every rich table, progress bar and console
    images    base, dockerfiles, wheels, images
    roster    roster, manifests, mail
    launch    launch, status, stop
    strip     strip
    release   release, collect
    grade     grade
    workshop  workshop, workshop:status, workshop:stop

Task creators only describe tasks: no engine is asked and no heavy library imported while doit lists them.
"""
