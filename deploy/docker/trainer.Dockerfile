# The GPU trainer worker: CUDA runtime, Python 3.11, the pinned requirements (tools/python/setup.sh)
# plus the GPU extras (unsloth, bitsandbytes).
#   docker build -f deploy/docker/trainer.Dockerfile -t medtune/trainer:dev .
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3-pip git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY python-services ./python-services
COPY tools/python ./tools/python
RUN MEDTUNE_PYTHON_BIN=python3.11 tools/python/setup.sh && python-services/.venv/bin/pip install --no-cache-dir unsloth unsloth_zoo bitsandbytes
# Not root: a fixed unprivileged uid that owns only the artifact volume's mount point. The worker
# listens on every interface here, which it refuses to do without credentials
# (MEDTUNE_TRAINER_AUTH_TOKEN or MEDTUNE_TRAINER_JWT_PUBLIC_KEY_FILE; see the trainer README).
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin medtune && mkdir -p /artifacts && chown medtune:medtune /artifacts
ENV PYTHONUNBUFFERED=1 MEDTUNE_TRAINER_GRPC_ADDR=0.0.0.0:50061 MEDTUNE_TRAINER_ARTIFACT_ROOT=/artifacts HOME=/home/medtune
EXPOSE 50061
USER 10001:10001
CMD ["python-services/.venv/bin/python", "-m", "medtune_trainer"]
