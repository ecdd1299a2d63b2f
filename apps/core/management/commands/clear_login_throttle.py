"""Clears a failed-login lockout (apps/core/login_throttle.py): one address's pair, or every pair of a username."""

from django.core.cache import cache
from django.core.management.base import BaseCommand

from apps.core.login_throttle import address_key, login_throttle_clear


class Command(BaseCommand):
    help = "Let a username log in again: clear its failed-login counters (for one --address, or all addresses)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--address", default=None, help="clear only this address's pair, and the address's own "
                                                            "counter across usernames")

    def handle(self, *args, username, address, **options):
        cleared = login_throttle_clear(username=username, address=address)
        if address is not None:
            cache.delete_many([address_key(address), f"{address_key(address)}:ends"])
        self.stdout.write(f"cleared {cleared} failed-login counter(s)")
