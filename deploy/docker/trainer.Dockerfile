# The GPU trainer worker: CUDA runtime, Python 3.11, the pinned requirements (tools/python/setup.sh)
# plus the GPU extras (unsloth, bitsandbytes).
#   docker build -f deploy/docker/trainer.Dockerfile -t medtune/trainer:dev .
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3-pip git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY python-services ./python-services
COPY tools/python ./tools/python
RUN MEDTUNE_PYTHON_BIN=python3.11 tools/python/setup.sh && python-services/.venv/bin/pip install --no-cache-dir unsloth unsloth_zoo bitsandbytes
ENV PYTHONUNBUFFERED=1 MEDTUNE_TRAINER_GRPC_ADDR=0.0.0.0:50061 MEDTUNE_TRAINER_ARTIFACT_ROOT=/artifacts
EXPOSE 50061
CMD ["python-services/.venv/bin/python", "-m", "medtune_trainer"]
