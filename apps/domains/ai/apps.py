from django.apps import AppConfig

HANDLERS = "apps.domains.ai.handlers"


class AiConfig(AppConfig):
    name = "apps.domains.ai"
    label = "ai"

    def ready(self):
        from apps.jobs.registry import JobKindSpec, register

        # ARCHITECTURE §4 AI: OCR on the lite tier (premium for a premium academy, apps/jobs/tiers.py), with the AI
        # lease and run cap. Staleness 30 s like every queue kind (Tesseract runs in a child process, the
        # heartbeat thread keeps beating); three attempts cover a redeploy and a storage blip.
        register(JobKindSpec(
            kind="ocr", backend="queue", queue_setting=None, tier="lite", handler=f"{HANDLERS}.ocr_image",
            heartbeat_timeout=30, max_attempts=3, on_terminal=f"{HANDLERS}.ocr_cleanup",
        ))
