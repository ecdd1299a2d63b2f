"""The video fleet's entrypoint on AWS Batch (ARCHITECTURE §4 Video): `python -m apps.worker.video.batch_main`."""
