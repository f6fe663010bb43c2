from django.core.management.base import BaseCommand, CommandError

from opsdesk.processes.readiness import readiness_run


class Command(BaseCommand):
    help = "List the launch-readiness checks; exit non-zero while any fails."

    def handle(self, *args, **options) -> None:
        results = readiness_run()
        for result in results:
            mark = self.style.SUCCESS("PASS") if result.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark}  {result.name}\n      {result.detail}")
            if not result.ok:
                self.stdout.write(f"      fix: {result.fix_url}")
        failed = sum(not r.ok for r in results)
        if failed:
            raise CommandError(f"Not ready: {failed} of {len(results)} checks fail.")
        self.stdout.write(self.style.SUCCESS(f"Ready: all {len(results)} checks pass."))
