"""ARCHITECTURE §4 Video, operators: delete one video tree (or one tenant's raw/hls tree) from object storage.

Refuses empty and short prefixes (see ops.storage_prefix_check); lists in pages, prints counts, then deletes
page by page. `--dry-run` only counts.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.domains.video.ops import PrefixRefused, storage_delete_page, storage_prefix_check, storage_prefix_pages
from apps.integrations.storage import LOGICAL_BUCKETS

DEFAULT_PAGE_SIZE = 1000


class Command(BaseCommand):
    help = "저장소에서 지정한 영상 경로(prefix) 아래 객체를 페이지 단위로 삭제합니다."

    def add_arguments(self, parser):
        parser.add_argument("--bucket", required=True, choices=sorted(LOGICAL_BUCKETS))
        parser.add_argument("--prefix", required=True, help="tenants/<id>/video/hls/<video id>")
        parser.add_argument("--dry-run", action="store_true", help="삭제하지 않고 개수만 출력")
        parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE)

    def handle(self, *args, bucket, prefix, dry_run, page_size, **options):
        if page_size < 1:
            raise CommandError("--page-size must be at least 1")
        try:
            prefix = storage_prefix_check(prefix)
        except PrefixRefused as exc:
            raise CommandError(f"refused prefix {prefix!r}: {exc}")
        # Listed in full before deleting so a backend's listing never shifts under the deletes.
        pages = [[info.key for info in page] for page in storage_prefix_pages(bucket=bucket, prefix=prefix,
                                                                              page_size=page_size)]
        total = sum(len(page) for page in pages)
        self.stdout.write(f"{bucket}/{prefix}: {total} object(s) in {len(pages)} page(s)")
        if dry_run:
            self.stdout.write(f"dry run: would delete {total} object(s)")
            return
        deleted = 0
        for number, keys in enumerate(pages, start=1):
            deleted += storage_delete_page(bucket=bucket, keys=keys)
            self.stdout.write(f"page {number}/{len(pages)}: deleted {len(keys)} (total {deleted}/{total})")
        self.stdout.write(f"deleted {deleted} object(s)")
