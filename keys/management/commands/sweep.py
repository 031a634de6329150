"""Delete expired key material and keys whose deletion date has passed (safe to run from cron)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from keys.services.importing import sweep


class Command(BaseCommand):
    help = "Delete expired imported key material, keys past their deletion date, and expired import parameters."

    def handle(self, *args, **options):
        counts = sweep()
        self.stdout.write(
            f"Expired key material: {counts['expired_material']}; deleted keys: {counts['deleted_keys']}; "
            f"expired import parameters: {counts['expired_import_parameters']}; "
            f"wrapping key pairs made for the pool: {counts['wrapping_keys_made']}"
        )
