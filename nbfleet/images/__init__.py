"""Images: the course's Docker images, built from ``docker-stacks/`` with no registry and no network inside builds.

In: ``docker-stacks/<image>/`` (Dockerfile, requirements.txt, files), ``course.toml`` [base] and [images], the
workshop's materials. Out: a debootstrapped root image, ``build/dockerfiles/<image>/Dockerfile`` (patched),
``build/wheels/<image>/`` (its Python packages, resolved on the host for the image's own Python), the images in the
local engine and ``build/images/<image>.json``, the record of each that later stages read.

    stacks   the chain: parents, build order, patched Dockerfiles (pure)
    wheels   an image's wheelhouse
    rootfs   the root image: debootstrap + docker import
    context  what goes into an image's build context, and its content digest
    build    one image built through the engine
    record   build/images/<image>.json: written after a build, read by launch, grading and the workshop
"""
