from django.core.management.base import BaseCommand, CommandError

from controlhub.tenancy.orgs import organization_create


class Command(BaseCommand):
    help = "Create an organization and its first full admin."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Organization name, e.g. 'Example Corp'")
        parser.add_argument("admin_email", help="Email of the first full admin (also their username)")
        parser.add_argument("--password", help="Admin password (a random one is generated and printed if omitted)")
        parser.add_argument("--slug", help="URL-safe short name (derived from the name if omitted)")

    def handle(self, *args, name, admin_email, password=None, slug=None, **options):
        if "@" not in admin_email:
            raise CommandError(f"'{admin_email}' is not an email address.")
        org, user, generated = organization_create(
            name=name, admin_email=admin_email, admin_password=password, slug=slug
        )
        self.stdout.write(self.style.SUCCESS(f"Created organization '{org.name}' (slug: {org.slug}, id: {org.pk})."))
        self.stdout.write(f"Full admin: {user.email}")
        if generated:
            self.stdout.write(f"Generated password: {generated}  (change it after signing in)")
