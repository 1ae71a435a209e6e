# An image that runs opsctl with its playbooks and templates, for CI steps that would rather
# `docker run` than install Python (docs/ci.md). Build it with `make image` (tools/build-image.sh):
# that first collects opsctl's wheel and every dependency's wheel into build/image/wheels, so the
# build itself needs no Python package index.
#
# BASE: any Debian bookworm image with python3. The default is the lab's base image, which
# `opsctl lab up` builds on this machine with debootstrap (no public registry is reachable here);
# elsewhere `--build-arg BASE=debian:bookworm-slim` does the same job.
ARG BASE=opsctl/base:bookworm
FROM ${BASE}

# python3-venv: a virtualenv for opsctl; openssh-client: Ansible reaches the servers over SSH;
# git: `opsctl build` records the commit it builds from.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3 python3-venv openssh-client git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY build/image/wheels/ /tmp/wheels/
RUN python3 -m venv /opt/opsctl \
    && /opt/opsctl/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels -q opsctl \
    && rm -rf /tmp/wheels \
    && /opt/opsctl/bin/opsctl --version

# CI=true: plain progress lines, and apply/deploy never wait for a terminal's answer.
ENV PATH=/opt/opsctl/bin:$PATH \
    CI=true \
    PYTHONUNBUFFERED=1
# The project (opsctl.yml and the build context) is mounted here: docker run -v "$PWD:/work".
WORKDIR /work
ENTRYPOINT ["opsctl"]
CMD ["--help"]
